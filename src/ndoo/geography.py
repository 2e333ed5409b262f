"""England's health geographies at 1 July 2022, as the official statistics use them.

Two lookups from the ONS "Health Geographies" series ship with the package
(``ndoo/data/geography/``, Open Government Licence; see ``SOURCE.md`` there):

- **Sub-ICB locations** (106), the successors of CCGs, each in one Integrated
  Care Board (42) and one NHS England commissioning region (7);
- **2011 LSOAs** (32,844 small areas of residence), each in one Sub-ICB location
  and one local authority (309).  Local authorities do not nest in Sub-ICB
  locations: 29 of them span more than one.

Each code exists in two forms: the ODS-style code the NHS uses (``00L``,
``QHM``, ``Y63``) and the ONS statistical code (``E38000130``, ``E54000050``,
``E40000012``).  Every column is text, so leading zeros survive.  Tables are
read once and cached; treat them as read-only.
"""

from __future__ import annotations

import functools
from importlib import resources

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from ndoo.errors import FileFormatError

SUB_ICB_COLUMNS: tuple[str, ...] = (
    "SUB_ICB_LOCATION_CODE",
    "ONS_SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_NAME",
    "ONS_ICB_CODE",
    "ICB_CODE",
    "ICB_NAME",
    "ONS_COMM_REGION_CODE",
    "COMM_REGION_CODE",
    "COMM_REGION_NAME",
)
"""Columns of :func:`sub_icb_locations`, named as in the official publication."""

LSOA_COLUMNS: tuple[str, ...] = (
    "LSOA_CODE",
    "LSOA_NAME",
    "ONS_SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_CODE",
    "SUB_ICB_LOCATION_NAME",
    "ONS_ICB_CODE",
    "ICB_CODE",
    "ICB_NAME",
    "LA_CODE",
    "LA_NAME",
)
"""Columns of :func:`lsoas`, named as in the official publication."""

ENGLAND_ONS_CODE = "E92000001"
"""The ONS code of England, the top level of every published table."""

_PACKAGE_DATA = ("data", "geography")


def _read(file_name: str, columns: tuple[str, ...]) -> pa.Table:
    resource = resources.files("ndoo").joinpath(*_PACKAGE_DATA, file_name)
    try:
        with resource.open("rb") as stream:
            table = pa_csv.read_csv(
                stream,
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(columns, pa.string()),
                    strings_can_be_null=False,
                ),
            )
    except (OSError, pa.ArrowInvalid) as exc:
        raise FileFormatError(f"cannot read packaged geography: {exc}", file=file_name) from exc
    if tuple(table.column_names) != columns:
        raise FileFormatError(
            f"expected columns {', '.join(columns)}; found {', '.join(table.column_names)}",
            file=file_name,
            line=1,
        )
    return table


def _distinct(table: pa.Table, columns: list[str], sort_by: str) -> pa.Table:
    unique = table.select(columns).group_by(columns).aggregate([])
    return unique.select(columns).sort_by(sort_by)


@functools.cache
def sub_icb_locations() -> pa.Table:
    """The 106 Sub-ICB locations with their ICB and region, sorted by ODS code."""
    return _read("sub_icb_locations.csv", SUB_ICB_COLUMNS)


@functools.cache
def lsoas() -> pa.Table:
    """The 32,844 2011 LSOAs with their Sub-ICB location, ICB and local authority."""
    return _read("lsoa.csv", LSOA_COLUMNS)


@functools.cache
def icbs() -> pa.Table:
    """The 42 ICBs (``ONS_ICB_CODE``, ``ICB_CODE``, ``ICB_NAME`` and region codes)."""
    return _distinct(
        sub_icb_locations(),
        ["ICB_CODE", "ONS_ICB_CODE", "ICB_NAME", "COMM_REGION_CODE", "ONS_COMM_REGION_CODE"],
        "ICB_CODE",
    )


@functools.cache
def regions() -> pa.Table:
    """The 7 NHS England commissioning regions, sorted by code (``Y56`` London … ``Y63``)."""
    return _distinct(
        sub_icb_locations(),
        ["COMM_REGION_CODE", "ONS_COMM_REGION_CODE", "COMM_REGION_NAME"],
        "COMM_REGION_CODE",
    )


@functools.cache
def local_authorities() -> pa.Table:
    """The 309 local authorities (``LA_CODE``, ``LA_NAME``) that contain an LSOA."""
    return _distinct(lsoas(), ["LA_CODE", "LA_NAME"], "LA_CODE")


def sub_icb_codes() -> list[str]:
    """The ODS codes of every Sub-ICB location, sorted."""
    codes: list[str] = sub_icb_locations().column("SUB_ICB_LOCATION_CODE").to_pylist()
    return codes


def is_sub_icb_code(codes: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Element-wise: is each value the ODS code of a Sub-ICB location?"""
    return pc.is_in(codes, value_set=sub_icb_locations().column("SUB_ICB_LOCATION_CODE"))


@functools.cache
def region_of_sub_icb() -> dict[str, tuple[str, str]]:
    """Sub-ICB ODS code → (region ODS code, region name)."""
    table = sub_icb_locations()
    return {
        code: (region, name)
        for code, region, name in zip(
            table.column("SUB_ICB_LOCATION_CODE").to_pylist(),
            table.column("COMM_REGION_CODE").to_pylist(),
            table.column("COMM_REGION_NAME").to_pylist(),
            strict=True,
        )
    }
