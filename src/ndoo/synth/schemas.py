"""The Arrow schemas of the three synthetic files, which the register loads.

``practices.parquet``
    ``code`` (``Z`` + 5 digits), ``name``, ``sub_icb_code`` (a real Sub-ICB
    location ODS code) and ``postcode`` (may be null).
``people.parquet``
    One row per person: ``nhs_number`` (10 digits, 9xx test range),
    ``date_of_birth``, ``gender`` (``'1'`` male, ``'2'`` female, ``'0'`` not
    known, ``'9'`` not specified), ``gp_practice_code``, ``lsoa_code`` (2011
    LSOA of residence), ``date_of_death`` (null while alive),
    ``lacks_capacity`` and ``detained``.
``events.parquet``
    The opt-out history, one row per change of state, ordered by person and
    time: ``nhs_number``, ``state`` (``'OUT'`` or ``'IN'``), ``effective_at``,
    ``channel`` (``T2`` conversion, ``OP`` online, ``PFSP`` NHS App, ``FN``
    NHS.UK form, ``CC`` contact centre, ``PP`` paper), ``actor`` (``SELF``,
    ``GUARDIAN``, ``POA``, ``COURTDEP``, ``HCP``), and for proxies
    ``proxy_name`` and ``proxy_evidence``; ``case_reference`` on contact-centre
    and paper events only.
"""

from __future__ import annotations

import pyarrow as pa

PRACTICES_SCHEMA = pa.schema(
    [
        ("code", pa.string()),
        ("name", pa.string()),
        ("sub_icb_code", pa.string()),
        ("postcode", pa.string()),
    ]
)

PEOPLE_SCHEMA = pa.schema(
    [
        ("nhs_number", pa.string()),
        ("date_of_birth", pa.date32()),
        ("gender", pa.string()),
        ("gp_practice_code", pa.string()),
        ("lsoa_code", pa.string()),
        ("date_of_death", pa.date32()),
        ("lacks_capacity", pa.bool_()),
        ("detained", pa.bool_()),
    ]
)

EVENTS_SCHEMA = pa.schema(
    [
        ("nhs_number", pa.string()),
        ("state", pa.string()),
        ("effective_at", pa.timestamp("us", tz="UTC")),
        ("channel", pa.string()),
        ("actor", pa.string()),
        ("proxy_name", pa.string()),
        ("proxy_evidence", pa.string()),
        ("case_reference", pa.string()),
    ]
)

PRACTICES_FILE = "practices.parquet"
PEOPLE_FILE = "people.parquet"
EVENTS_FILE = "events.parquet"
