"""The Check for National Data Opt-outs service ("POS"): the national end.

:mod:`.core` checks a request file against a set of opt-outs (:mod:`.optout_index`);
:mod:`.service` is the MESH worker behind ``ndoo pos serve``, with its processing
state in :mod:`.state` and its JSON receipts in :mod:`.receipt`.
"""
