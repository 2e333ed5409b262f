"""An analyst applies opt-outs to an uploaded file in the console and downloads the
release."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import axe_check, sign_in
from tests.browser.helpers import assert_error_linked, heading
from tests.disclosures.helpers import assessed
from tests.pos.helpers import NOT_OPTED_OUT, OPTED_OUT, register_with_optouts

#: Six episodes of five people; the first two people have an opt-out, one of them twice.
EPISODES = [
    ("E01", OPTED_OUT[0], "007"),
    ("E02", NOT_OPTED_OUT[0], "A01"),
    ("E03", OPTED_OUT[1], "B02"),
    ("E04", NOT_OPTED_OUT[1], "C03"),
    ("E05", NOT_OPTED_OUT[2], "D04"),
    ("E06", OPTED_OUT[0], "E05"),
]


def test_an_analyst_applies_opt_outs_to_an_uploaded_file(
    page: Page, site, site_db, tmp_path, javascript
):
    register_with_optouts(site_db)
    assert assessed(site_db, "DSA-WEB") == "APPLY"
    episodes = tmp_path / "episodes.csv"
    with episodes.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["episode", "nhs_number", "code"])
        writer.writerows(EPISODES)

    sign_in(page, site, "analyst")
    page.get_by_role("link", name="Apply opt-outs").click()
    assert heading(page) == "Apply opt-outs to a dataset"
    axe_check(page)

    # Without a file: the error summary links to the upload field.
    page.get_by_role("button", name="Apply opt-outs").click()
    assert_error_linked(page, "dataset", "Choose the dataset file to upload")
    axe_check(page)

    with page.expect_file_chooser() as chooser:
        page.get_by_label("Dataset (CSV or Parquet").click()
    chooser.value.set_files(episodes)
    expect(page.locator("input[name=dataset]")).to_have_value(re.compile(r"episodes\.csv$"))
    page.get_by_label("Name of the column that holds NHS numbers").fill("nhs_number")
    page.get_by_label("Disclosure the data is released for").select_option("DSA-WEB")
    page.get_by_role("radio", name="The opt-out register kept here").check()
    page.get_by_role("radio", name="Stop, and list the first rows").check()
    page.get_by_role("button", name="Apply opt-outs").click()

    page.wait_for_url(f"{site}/console/apply/*")
    release_id = page.url.rsplit("/", 1)[1]
    assert heading(page) == "Released 3 of 6 rows"
    expect(page.locator(".nhsuk-caption-l")).to_have_text("Disclosure DSA-WEB")
    expect(
        page.get_by_text(f"Release {release_id}: 3 rows removed, 3 of them for an opt-out.")
    ).to_be_visible()
    axe_check(page)

    with page.expect_download() as started:
        page.get_by_role("link", name="The release (the dataset with opt-outs applied)").click()
    download = started.value
    assert download.suggested_filename == f"{release_id}.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with Path(saved).open(newline="") as kept:
        rows = list(csv.DictReader(kept))
    assert [(r["episode"], r["nhs_number"], r["code"]) for r in rows] == [
        e for e in EPISODES if e[1] not in OPTED_OUT
    ]
    sent = {e[1] for e in EPISODES}
    assert sent - {r["nhs_number"] for r in rows} == set(OPTED_OUT)
