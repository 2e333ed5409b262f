"""Identity: matching a person's details to demographics, one-time codes, notifications.

:mod:`ndoo.identity.demographics` holds the details the service matches against and
the contacts on record; :mod:`ndoo.identity.codes` sends and checks one-time security
codes; :mod:`ndoo.identity.notify` is the one notification interface and its
backends (the local outbox, GOV.UK Notify, SMTP).
"""
