"""The packaged geography lookups: counts, consistency, and fidelity to the source."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pyarrow.compute as pc
import pytest

from ndoo import geography

REPO = Path(__file__).parents[1]
SHARED_GEOGRAPHY = REPO.parent / "shared" / "data" / "geography"
PACKAGE_GEOGRAPHY = REPO / "src" / "ndoo" / "data" / "geography"


def test_counts_match_the_july_2022_publication() -> None:
    assert geography.sub_icb_locations().num_rows == 106
    assert geography.icbs().num_rows == 42
    assert geography.regions().num_rows == 7
    assert geography.lsoas().num_rows == 32_844
    assert geography.local_authorities().num_rows == 309


def test_codes_are_unique_text_of_the_expected_shape() -> None:
    subs = geography.sub_icb_locations()
    lsoas = geography.lsoas()
    assert pc.count_distinct(subs["SUB_ICB_LOCATION_CODE"]).as_py() == 106
    assert pc.count_distinct(lsoas["LSOA_CODE"]).as_py() == 32_844
    assert pc.all(pc.match_substring_regex(lsoas["LSOA_CODE"], r"^E01\d{6}$")).as_py()
    assert pc.all(pc.match_substring_regex(lsoas["LA_CODE"], r"^E0[6789]\d{6}$")).as_py()
    assert pc.all(pc.match_substring_regex(subs["ONS_SUB_ICB_LOCATION_CODE"], r"^E38")).as_py()
    for column in geography.SUB_ICB_COLUMNS:
        assert subs.schema.field(column).type == "string"
    for column in geography.LSOA_COLUMNS:
        assert lsoas.schema.field(column).type == "string"


def test_regions_are_the_seven_nhs_england_regions() -> None:
    regions = dict(
        zip(
            geography.regions()["COMM_REGION_CODE"].to_pylist(),
            geography.regions()["COMM_REGION_NAME"].to_pylist(),
            strict=True,
        )
    )
    assert regions == {
        "Y56": "London",
        "Y58": "South West",
        "Y59": "South East",
        "Y60": "Midlands",
        "Y61": "East of England",
        "Y62": "North West",
        "Y63": "North East and Yorkshire",
    }


def test_every_lsoa_lies_in_a_known_sub_icb_location_of_the_same_icb() -> None:
    subs = geography.sub_icb_locations()
    icb_of = dict(
        zip(subs["SUB_ICB_LOCATION_CODE"].to_pylist(), subs["ICB_CODE"].to_pylist(), strict=True)
    )
    ons_of = dict(
        zip(
            subs["SUB_ICB_LOCATION_CODE"].to_pylist(),
            subs["ONS_SUB_ICB_LOCATION_CODE"].to_pylist(),
            strict=True,
        )
    )
    pairs = set(
        zip(
            geography.lsoas()["SUB_ICB_LOCATION_CODE"].to_pylist(),
            geography.lsoas()["ONS_SUB_ICB_LOCATION_CODE"].to_pylist(),
            geography.lsoas()["ICB_CODE"].to_pylist(),
            strict=True,
        )
    )
    assert {sub for sub, _, _ in pairs} == set(icb_of)
    for sub, ons, icb in pairs:
        assert icb_of[sub] == icb
        assert ons_of[sub] == ons


def test_tables_are_cached() -> None:
    assert geography.lsoas() is geography.lsoas()


def _import_script() -> ModuleType:
    path = REPO / "scripts" / "import_geography.py"
    spec = importlib.util.spec_from_file_location("import_geography", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not SHARED_GEOGRAPHY.is_dir(),
    reason=f"source spreadsheets not found at {SHARED_GEOGRAPHY}",
)
def test_csvs_equal_a_fresh_conversion_of_the_spreadsheets() -> None:
    converted = _import_script().convert(SHARED_GEOGRAPHY)
    assert set(converted) == {"sub_icb_locations.csv", "lsoa.csv"}
    for name, text in converted.items():
        assert (PACKAGE_GEOGRAPHY / name).read_text(encoding="utf-8") == text, name
