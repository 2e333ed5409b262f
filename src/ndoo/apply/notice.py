"""The short notice that goes to the recipient with a release.

It says that national data opt-outs were applied and how many records were removed.
Counts below :data:`SMALL` are shown as "fewer than 10": a recipient told that one
record was removed from a small cohort could learn who opted out.
"""

from __future__ import annotations

from typing import Any

SMALL = 10


def _count(value: int) -> str:
    if value == 0:
        return "no"
    if value < SMALL:
        return f"fewer than {SMALL}"
    return f"{value:,}"


def _records(value: int) -> tuple[str, str]:
    """("Fewer than 10 records", "were"): a count and its verb.  One record is never
    shown as one (it is below :data:`SMALL`), so the noun is always plural."""
    return f"{_count(value).capitalize()} records", "were"


def text(manifest: dict[str, Any]) -> str:
    """The notice for a manifest, as plain text."""
    if manifest.get("opt_outs") == "not applied":
        return _not_applied(manifest)
    counts = manifest["counts"]
    unmatched = manifest["unmatched"]
    withheld = int(counts["rows_withheld"])
    dropped = int(unmatched["rows_dropped"])
    kept_unmatched = int(unmatched["rows_kept"])
    finished = str(manifest["finished_at"])[:10]
    lines = [
        f"Release notice: disclosure {manifest['disclosure']}",
        "",
        f"National data opt-outs were applied to this data on {finished} before it was "
        "released, as the National Data Opt-out policy requires.",
        "",
        "- {} {} removed because the people they are about have registered a national "
        "data opt-out.".format(*_records(withheld)),
    ]
    if dropped:
        lines.append(
            "- {} without a valid NHS number {} removed, because their opt-out could not "
            "be checked.".format(*_records(dropped))
        )
    if kept_unmatched:
        lines.append(
            "- {} without a valid NHS number {} kept, as the sender decided.".format(
                *_records(kept_unmatched)
            )
        )
    lines += [
        f"- The data you received holds {int(counts['rows_out']):,} records.",
        "",
        "Whole records were removed, not only their identifiers. Do not try to obtain "
        "the removed records from another source. Opt-outs do not affect anyone's own care.",
        "",
        f"Release {manifest['release_id']}, prepared with ndoo {manifest['software']['version']}.",
        "",
    ]
    return "\n".join(lines)


def _not_applied(manifest: dict[str, Any]) -> str:
    """The notice for a disclosure to which national data opt-outs do not apply."""
    finished = str(manifest["finished_at"])[:10]
    reasons = manifest["source"].get("justification") or []
    dropped = int(manifest["unmatched"]["rows_dropped"])
    lines = [
        f"Release notice: disclosure {manifest['disclosure']}",
        "",
        f"This disclosure was assessed against the National Data Opt-out policy, and "
        f"national data opt-outs do not apply to it, so none were applied on {finished}.",
        "",
        *(f"- {reason}" for reason in reasons),
    ]
    if dropped:
        lines.append(
            "- {} without a valid NHS number {} removed, as the sender decided.".format(
                *_records(dropped)
            )
        )
    lines += [
        f"- The data you received holds {int(manifest['counts']['rows_out']):,} records.",
        "",
        f"Release {manifest['release_id']}, prepared with ndoo {manifest['software']['version']}.",
        "",
    ]
    return "\n".join(lines)
