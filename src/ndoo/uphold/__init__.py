"""The organisation's side of checking: lists to check, requests, and the cleaned-list cache.

:mod:`ndoo.uphold.lists` reads the NHS numbers an organisation wants checked,
:mod:`ndoo.uphold.checking` sends them to the Check for National Data Opt-outs
service and receives the answer, and :mod:`ndoo.uphold.cache` keeps the cleaned
lists (service data under the service's licence) and applies them.
"""
