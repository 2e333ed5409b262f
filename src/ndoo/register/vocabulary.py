"""The register's words: the one question, its two answers, channels and who acted."""

from __future__ import annotations

import enum
from datetime import date

QUESTION = "I allow my confidential patient information to be used for research and planning"

#: The national data opt-out service opened on this day.
SERVICE_LAUNCH = date(2018, 5, 25)

#: Type 2 objections recorded on or before this day became national data opt-outs.
TYPE2_CUTOFF = date(2018, 10, 11)


class State(enum.StrEnum):
    """A person's answer.  Opted in is the default and needs no record."""

    OUT = "OUT"
    IN = "IN"

    @property
    def label(self) -> str:
        return "opted out" if self is State.OUT else "opted in"

    @property
    def fhir_status(self) -> str:
        """The NDOP Consent resource status: ``active`` means opted out."""
        return "active" if self is State.OUT else "inactive"


class Channel(enum.StrEnum):
    """How the choice reached the register (NDOP-OptOutSource-1 codes, plus ``T2``)."""

    OP = "OP"
    PFSP = "PFSP"
    FN = "FN"
    CC = "CC"
    PP = "PP"
    T2 = "T2"

    @property
    def label(self) -> str:
        return _CHANNEL_LABELS[self]


_CHANNEL_LABELS = {
    Channel.OP: "Online process",
    Channel.PFSP: "NHS App (patient facing service app)",
    Channel.FN: "Form on NHS.UK",
    Channel.CC: "Contact centre",
    Channel.PP: "Paper process",
    Channel.T2: "Converted Type 2 objection",
}

#: Channels a person, proxy or member of staff can use; ``T2`` only comes from an import.
PERSON_CHANNELS = frozenset(Channel) - {Channel.T2}


class ProxyRole(enum.StrEnum):
    """Who may act for someone else (NDOP-ProxyRole-1, plus the secure-estate form)."""

    GUARDIAN = "GUARDIAN"
    POA = "POA"
    COURTDEP = "COURTDEP"
    HCP = "HCP"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    ProxyRole.GUARDIAN: "Parent or guardian with parental responsibility",
    ProxyRole.POA: "Lasting power of attorney",
    ProxyRole.COURTDEP: "Court-appointed deputy",
    ProxyRole.HCP: "Healthcare professional, detained or secure estate",
}

SELF = "SELF"


def actor_label(actor: str) -> str:
    return "the person themselves" if actor == SELF else ProxyRole(actor).label
