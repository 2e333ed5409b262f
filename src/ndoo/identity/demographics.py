"""Demographics: names, postcodes and contacts, standing in for the national
demographics service (PDS).

The ``demographics`` table holds, for each person of the register, the details a
citizen's answers are matched against (name and postcode; the date of birth is the
person's own) and the mobile phone number and email address on record, the only
places a one-time code may be sent.

:func:`ensure` fills the table for everyone who has no row yet, from a seed: names
from :mod:`ndoo.synth.names` (first names that fit the recorded gender), a well-formed
postcode in the district of the person's GP practice, a mobile number in Ofcom's
drama range (07700 900000 to 07700 900999, never allocated to a real line) and an
``@example.com`` email address.  Most people have both, some only one, and a few
neither: those cannot verify online and are told to phone.

:func:`match` finds the one person whose details are given: NHS number and date of
birth, or full name, date of birth and postcode.  Case, spaces and hyphens do not
matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select

from ndoo.db import Database
from ndoo.db.bulk import insert_table
from ndoo.db.models import demographics, gp_practice, person
from ndoo.nhs_number import parse
from ndoo.synth.names import FIRST_NAMES, LAST_NAMES, POSTCODE_UNIT_LETTERS

#: Shares of people with both contacts, a mobile only and an email only; the rest
#: have neither.
BOTH, MOBILE_ONLY, EMAIL_ONLY = 0.80, 0.08, 0.08

#: Ofcom's drama range: numbers never allocated to a real line.
MOBILE_PREFIX = "07700900"
MOBILE_COUNT = 1000

EMAIL_DOMAIN = "example.com"

#: Real outward codes, one or more per region of England, for people whose practice
#: has no postcode.
OUTWARD_CODES: tuple[str, ...] = (
    "LS1", "LS6", "M1", "M14", "B1", "B15", "NE1", "NE6", "BS1", "BS7", "L1", "L15",
    "S1", "S10", "NG1", "NG7", "LE1", "CV1", "PL1", "EX1", "YO1", "OX1", "CB1", "BN1",
    "SO14", "NR1", "SW1A", "SE1", "N1", "E1", "EC1A", "W1A",
)  # fmt: skip

_FEMALE_FROM = FIRST_NAMES.index("Olivia")
_MALE_NAMES = FIRST_NAMES[:_FEMALE_FROM]
_FEMALE_NAMES = FIRST_NAMES[_FEMALE_FROM:]

_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}")


def normal_postcode(text: str | None) -> str | None:
    """``text`` as a postcode in its usual form (``LS1 4AP``), or ``None`` if it is not
    one.  Case, spaces and hyphens do not matter."""
    compact = re.sub(r"[\s-]", "", text or "").upper()
    if not _POSTCODE.fullmatch(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def normal_name(text: str | None) -> str:
    """A name as compared: case-folded, without spaces or hyphens."""
    return re.sub(r"[\s-]", "", text or "").casefold()


def mask_mobile(mobile: str) -> str:
    """``mobile phone number ending 123``."""
    digits = re.sub(r"\D", "", mobile)
    return f"mobile phone number ending {digits[-3:]}"


def mask_email(email: str) -> str:
    """``j•••@example.com``: the first letter and the domain."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


@dataclass(frozen=True)
class Contact:
    """The mobile phone number and email address on a person's record."""

    mobile: str | None
    email: str | None

    def address(self, channel: str) -> str | None:
        """The address for ``channel`` (``sms`` or ``email``), if on record."""
        return self.mobile if channel == "sms" else self.email if channel == "email" else None

    def masked(self, channel: str) -> str:
        address = self.address(channel)
        if address is None:
            return ""
        return mask_mobile(address) if channel == "sms" else mask_email(address)


def contact(db: Database, nhs_number: str) -> Contact | None:
    """The contacts on record for a person, or ``None`` with no demographic record."""
    number = parse(nhs_number)
    with db.read() as conn:
        row = conn.execute(
            select(demographics.c.mobile, demographics.c.email).where(
                demographics.c.nhs_number == number
            )
        ).first()
    if row is None:
        return None
    return Contact(mobile=row.mobile or None, email=row.email or None)


def match(
    db: Database,
    *,
    nhs_number: str | None = None,
    given_name: str | None = None,
    family_name: str | None = None,
    date_of_birth: date,
    postcode: str | None = None,
) -> str | None:
    """The NHS number of the one person these details identify, else ``None``.

    With an NHS number, it and the date of birth must agree (and a name or postcode,
    when also given).  Without one, the full name, date of birth and postcode must all
    agree and pick out exactly one person.  Deceased people are matched too: what may
    be done for them is for the caller to decide.  An NHS number that is not valid is
    :class:`ndoo.errors.InvalidNHSNumber`.
    """
    given = normal_name(given_name)
    family = normal_name(family_name)
    code = normal_postcode(postcode) if postcode else None
    if postcode and code is None:
        return None
    columns = (
        person.c.nhs_number,
        demographics.c.given_name,
        demographics.c.family_name,
        demographics.c.postcode,
    )
    if nhs_number and nhs_number.strip():
        query = (
            select(*columns)
            .select_from(person.outerjoin(demographics))
            .where(person.c.nhs_number == parse(nhs_number))
        )
    elif given and family and code:
        query = (
            select(*columns)
            .select_from(demographics.join(person))
            .where(demographics.c.postcode.in_([code, code.replace(" ", "")]))
        )
    else:
        return None
    query = query.where(person.c.date_of_birth == date_of_birth)
    with db.read() as conn:
        rows = conn.execute(query).all()
    found = [
        row.nhs_number
        for row in rows
        if (not given or normal_name(row.given_name) == given)
        and (not family or normal_name(row.family_name) == family)
        and (code is None or normal_postcode(row.postcode) == code)
    ]
    return found[0] if len(found) == 1 else None


# ---------------------------------------------------------------------------
# Synthetic demographics for the whole register


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser: a well-spread 64-bit hash of each value."""
    x = values + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _draws(numbers: npt.NDArray[np.uint64], seed: int, count: int) -> list[npt.NDArray[np.uint64]]:
    """``count`` independent hashes per person, each depending only on the person's
    NHS number and the seed (so adding people later never changes anyone's details)."""
    keys = np.arange(count, dtype=np.uint64) + np.uint64(seed % 2**32) * np.uint64(1 << 16)
    return [_mix(numbers ^ _mix(np.full(1, key, dtype=np.uint64))) for key in keys]


def _pick(words: tuple[str, ...], draw: npt.NDArray[np.uint64]) -> pa.Array:
    indices = (draw % np.uint64(len(words))).astype(np.int64)
    return pa.array(words, pa.string()).take(pa.array(indices))


def _join(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _outward(practice_postcodes: pa.Array, draw: npt.NDArray[np.uint64]) -> pa.Array:
    """The outward code of the practice's postcode, or a real one when it has none."""
    from_practice = pc.utf8_trim_whitespace(
        pc.list_element(pc.split_pattern(pc.fill_null(practice_postcodes, ""), " "), 0)
    )
    fallback = _pick(OUTWARD_CODES, draw)
    usable = pc.match_substring_regex(from_practice, r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
    return pc.if_else(usable, from_practice, fallback)


def _inward(draw: npt.NDArray[np.uint64]) -> pa.Array:
    digit = pa.array((draw % np.uint64(10)).astype(np.int64)).cast(pa.string())
    letters = tuple(POSTCODE_UNIT_LETTERS)
    first = _pick(letters, draw >> np.uint64(8))
    second = _pick(letters, draw >> np.uint64(16))
    return _join(digit, first, second)


def synthesise(
    numbers: list[str], genders: list[str], practice_postcodes: list[Any], *, seed: int
) -> pa.Table:
    """Demographic rows for these people (vectorised; a person's row depends only on
    their NHS number, gender, practice and the seed)."""
    count = len(numbers)
    keys = pc.cast(pa.array(numbers, pa.string()), pa.int64()).to_numpy().astype(np.uint64)
    first, last, area, unit, kind, phone, serial = _draws(keys, seed, 7)
    gender = np.asarray(genders, dtype=object)
    male = _pick(_MALE_NAMES, first)
    female = _pick(_FEMALE_NAMES, first)
    anyone = _pick(FIRST_NAMES, first)
    given = pc.if_else(
        pa.array(gender == "1"), male, pc.if_else(pa.array(gender == "2"), female, anyone)
    )
    family = _pick(LAST_NAMES, last)
    postcode = _join(
        _outward(pa.array(practice_postcodes, pa.string()), area), pa.scalar(" "), _inward(unit)
    )
    share = (kind >> np.uint64(11)).astype(np.float64) / float(2**53)
    has_mobile = pa.array(share < BOTH + MOBILE_ONLY)
    email_only = (share >= BOTH + MOBILE_ONLY) & (share < BOTH + MOBILE_ONLY + EMAIL_ONLY)
    has_email = pa.array((share < BOTH) | email_only)
    mobiles = tuple(f"{MOBILE_PREFIX}{i:03d}" for i in range(MOBILE_COUNT))
    mobile = _pick(mobiles, phone)
    number = pa.array((serial % np.uint64(1000) + np.uint64(1)).astype(np.int64)).cast(pa.string())
    email = _join(
        pc.utf8_lower(given),
        pa.scalar("."),
        pc.utf8_lower(family),
        pa.scalar("."),
        number,
        pa.scalar(f"@{EMAIL_DOMAIN}"),
    )
    nothing = pa.nulls(count, pa.string())
    return pa.table(
        {
            "nhs_number": pa.array(numbers, pa.string()),
            "given_name": given,
            "family_name": family,
            "postcode": postcode,
            "mobile": pc.if_else(has_mobile, mobile, nothing),
            "email": pc.if_else(has_email, email, nothing),
        }
    )


def ensure(db: Database, *, seed: int = 1) -> int:
    """Give every person of the register without demographics a synthetic record;
    how many were added.  Deterministic: the same seed gives the same details."""
    with db.write() as conn:
        rows = conn.execute(
            select(person.c.nhs_number, person.c.gender, gp_practice.c.postcode)
            .select_from(
                person.outerjoin(demographics).outerjoin(
                    gp_practice, person.c.gp_practice_code == gp_practice.c.code
                )
            )
            .where(demographics.c.nhs_number.is_(None))
            .order_by(person.c.nhs_number)
        ).all()
        if not rows:
            return 0
        numbers, genders, postcodes = (list(column) for column in zip(*rows, strict=True))
        return insert_table(conn, demographics, synthesise(numbers, genders, postcodes, seed=seed))
