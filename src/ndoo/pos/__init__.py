"""The Check for National Data Opt-outs service ("POS"): the national end.

:mod:`.core` checks a request file against the opt-outs (a :mod:`ndoo.numberset`);
:mod:`.service` is the MESH worker behind ``ndoo pos serve``, with its processing
state in :mod:`.state` and its JSON receipts in :mod:`.receipt`.
"""
