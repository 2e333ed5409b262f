"""The impact report's parts: cells of distinct people kept and removed, dimensions,
small-cell suppression, and the report as text, JSON and CSV.

:mod:`ndoo.stats.impact` works out the counts from a release's data; this module holds
what is shown and how small counts are hidden: a cell with fewer than
:data:`~ndoo.apply.notice.SMALL` people kept or removed (but not none) is suppressed,
and when a dimension would have exactly one suppressed cell its next-smallest cell is
suppressed too, so the hidden counts cannot be worked out from the totals.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ndoo.apply.notice import SMALL
from ndoo.errors import InputError

AREA_LEVELS = ("lsoa", "sub_icb", "la", "icb", "region")
AGE_BANDS = ("0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+")
UNKNOWN = "Unknown"
#: A value that is not shown because it could be an identifier (ten digits or more).
HIDDEN = "Other (not shown)"
FEWER = f"fewer than {SMALL}"
SUPPRESSED = "suppressed"


# ---------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class Cell:
    """Distinct people kept and removed: one category of a dimension, or a total."""

    category: str
    kept: int
    removed: int
    name: str = ""  # an area's name
    suppressed: str | None = None  # "small" (fewer than SMALL people) or "secondary"

    @property
    def people(self) -> int:
        return self.kept + self.removed

    @property
    def small(self) -> bool:
        """Whether it holds fewer than :data:`SMALL` people kept or removed (but some)."""
        return 0 < self.kept < SMALL or 0 < self.removed < SMALL

    @property
    def removal_rate(self) -> float | None:
        if self.suppressed or not self.people:
            return None
        return self.removed / self.people

    def shown(self, value: int) -> int | str:
        """One of this cell's counts as it may be shown: itself, "fewer than 10" or
        "suppressed" (a count that, with the others, would give a small one away)."""
        if self.suppressed is None:
            return value
        if self.suppressed == "small" and 0 < value < SMALL:
            return FEWER
        return SUPPRESSED

    def counts(self) -> dict[str, int | str | float | None]:
        return {
            "people": self.shown(self.people),
            "kept": self.shown(self.kept),
            "removed": self.shown(self.removed),
            "removal_rate": _round(self.removal_rate),
        }


def total(kept: int, removed: int) -> Cell:
    """A total, suppressed by the same rule as a cell."""
    cell = Cell("Total", kept, removed)
    return Cell("Total", kept, removed, suppressed="small" if cell.small else None)


@dataclass(frozen=True)
class Dimension:
    """One dimension's cells: most under-represented first, suppressed cells last."""

    key: str  # "age_band", "sex", "area"
    title: str
    column: str
    cells: tuple[Cell, ...]

    @property
    def total(self) -> Cell:
        return total(sum(c.kept for c in self.cells), sum(c.removed for c in self.cells))

    def shares(self, cell: Cell) -> tuple[float, float] | None:
        """The cell's share of the kept people and of the input, when both may be shown
        (not when the totals are suppressed: the shares would give them away)."""
        whole = self.total
        if cell.suppressed or whole.suppressed or not whole.kept or not whole.people:
            return None
        return cell.kept / whole.kept, cell.people / whole.people

    def representation(self, cell: Cell) -> float | None:
        """Share of the kept people over share of the input (below 1: under-represented)."""
        shares = self.shares(cell)
        return None if shares is None else shares[0] / shares[1]

    def as_dict(self) -> dict[str, Any]:
        categories = []
        for cell in self.cells:
            shares = self.shares(cell)
            categories.append(
                {
                    "category": cell.category,
                    "name": cell.name or None,
                    **cell.counts(),
                    "kept_share": _round(shares[0]) if shares else None,
                    "input_share": _round(shares[1]) if shares else None,
                    "representation": _round(self.representation(cell)),
                    "suppressed": cell.suppressed,
                }
            )
        whole = self.total
        return {
            "dimension": self.key,
            "title": self.title,
            "column": self.column,
            "totals": {**whole.counts(), "suppressed": whole.suppressed},
            "categories": categories,
        }


@dataclass(frozen=True)
class ImpactReport:
    """What :func:`impact` found; :meth:`as_dict` (JSON), :meth:`text`, :func:`write_csv`."""

    manifest: Path
    release_id: str
    disclosure: str
    released_on: date
    kept: int
    removed: int
    unmatched_rows: int
    unmatched_decision: str
    dimensions: tuple[Dimension, ...]
    area_level: str | None = None
    as_of: date | None = None
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> Cell:
        return total(self.kept, self.removed)

    def _unmatched(self) -> int | str:
        return FEWER if 0 < self.unmatched_rows < SMALL else self.unmatched_rows

    def as_dict(self) -> dict[str, Any]:
        whole = self.total
        return {
            "manifest": str(self.manifest),
            "release_id": self.release_id,
            "disclosure": self.disclosure,
            "released_on": self.released_on.isoformat(),
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "area_level": self.area_level,
            "small_count": SMALL,
            "people": {**whole.counts(), "suppressed": whole.suppressed},
            "rows_without_valid_nhs_number": {
                "rows": self._unmatched(),
                "decision": self.unmatched_decision,
            },
            "dimensions": [d.as_dict() for d in self.dimensions],
            "notes": list(self.notes),
        }

    def under_represented(self, limit: int = 5) -> list[tuple[Dimension, Cell, float]]:
        """The shown cells with representation below 1, across dimensions, lowest first."""
        found = [
            (d, c, r)
            for d in self.dimensions
            for c in d.cells
            if (r := d.representation(c)) is not None and r < 1
        ]
        return sorted(found, key=lambda item: item[2])[:limit]

    def text(self) -> str:
        """The report as plain text: a summary, then a table per dimension."""
        whole = self.total
        rate = whole.removal_rate
        lines = [
            f"Impact of opt-outs on release {self.release_id} (disclosure {self.disclosure}), "
            f"released {self.released_on.isoformat()}",
            "",
            f"People (distinct NHS numbers): {_show(whole.shown(whole.people))} in the input, "
            f"{_show(whole.shown(whole.kept))} kept, {_show(whole.shown(whole.removed))} removed"
            + (f" ({_percent(rate)})." if rate is not None else "."),
        ]
        if self.unmatched_rows:
            lines.append(
                f"Rows without a valid NHS number: {_show(self._unmatched())} "
                f"({'dropped' if self.unmatched_decision == 'drop' else 'kept'}); "
                "they are not people and are not counted below."
            )
        if self.as_of is not None:
            lines.append(f"Ages are at {self.as_of.isoformat()}.")
        lines += [
            f'Counts of fewer than {SMALL} people are shown as "{FEWER}"; "{SUPPRESSED}" '
            "hides a count that would let one be worked out.",
            "Representation: a category's share of the kept people divided by its share "
            "of the input (below 1: under-represented in the release).",
            *self.notes,
        ]
        worst = [item for item in self.under_represented() if item[2] < 0.995]  # not "1.00"
        if worst:
            lines += ["", "Largest under-representations:"]
            lines += [
                f"  {d.title} {_label(c)}: {r:.2f} (removal rate {_percent(c.removed / c.people)})"
                for d, c, r in worst
            ]
        for dimension in self.dimensions:
            lines += ["", *_table(dimension)]
        return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "dimension",
    "category",
    "name",
    "people",
    "kept",
    "removed",
    "removal_rate",
    "kept_share",
    "input_share",
    "representation",
    "suppressed",
)


def write_csv(report: ImpactReport, path: Path) -> None:
    """One row per category and a total per dimension, suppressed as in the report."""
    rows: list[dict[str, Any]] = []
    for dimension in report.dimensions:
        shown = dimension.as_dict()
        rows += [{"dimension": dimension.key, **entry} for entry in shown["categories"]]
        rows.append({"dimension": dimension.key, "category": "Total", **shown["totals"]})
    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
    except OSError as exc:
        raise InputError(f"{path}: cannot be written ({exc.strerror or exc})") from exc


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _show(value: int | str) -> str:
    return f"{value:,}" if isinstance(value, int) else value


def _percent(value: float) -> str:
    return "under 0.1%" if 0 < value < 0.0005 else f"{value * 100:.1f}%"


def _label(cell: Cell) -> str:
    return f"{cell.category} {cell.name}" if cell.name else cell.category


def _table(dimension: Dimension) -> list[str]:
    header = ("Category", "People", "Kept", "Removed", "Removal rate", "Representation")
    body: list[tuple[str, ...]] = []
    for cell in (*dimension.cells, dimension.total):
        rate = cell.removal_rate
        representation = dimension.representation(cell) if cell.category != "Total" else None
        body.append(
            (
                _label(cell),
                _show(cell.shown(cell.people)),
                _show(cell.shown(cell.kept)),
                _show(cell.shown(cell.removed)),
                "" if rate is None else _percent(rate),
                "" if representation is None else f"{representation:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        rest = "  ".join(
            value.rjust(width) for value, width in zip(row[1:], widths[1:], strict=True)
        )
        return f"  {row[0].ljust(widths[0])}  {rest}".rstrip()

    return [f"{dimension.title} (column {dimension.column!r})", line(header), *map(line, body)]


# ---------------------------------------------------------------------------------
# Suppression


def suppress(cells: list[Cell], order: dict[str, int]) -> list[Cell]:
    """Mark the small cells; when exactly one is marked, mark the next-smallest too.

    The next-smallest is the unmarked cell with the fewest people (then the fewest
    removed, then the first in ``order``): with two cells hidden, the dimension's totals
    give only their sum.  A dimension of one cell needs nothing more: its total is the
    cell, suppressed by the same rule.
    """
    marked = [
        Cell(c.category, c.kept, c.removed, c.name, "small" if c.small else None) for c in cells
    ]
    candidates = [c for c in marked if not c.suppressed]
    if len(marked) - len(candidates) != 1 or not candidates:
        return marked
    chosen = min(candidates, key=lambda c: (c.people, c.removed, order[c.category]))
    return [
        Cell(c.category, c.kept, c.removed, c.name, "secondary") if c is chosen else c
        for c in marked
    ]


def _dimension(
    key: str, title: str, column: str, counts: list[tuple[str, int, int]], names: dict[str, str]
) -> Dimension:
    """The cells, suppressed and ordered: by removal rate, highest first (the same order
    as representation, lowest first, but needing no totals), suppressed cells last."""
    order = _natural_order(key, [category for category, _, _ in counts])
    cells = suppress(
        [
            Cell(category, kept, removed, names.get(category, ""))
            for category, kept, removed in counts
        ],
        order,
    )

    def sort_key(cell: Cell) -> tuple[int, float, int]:
        rate = cell.removal_rate
        return (1, 0.0, order[cell.category]) if rate is None else (0, -rate, order[cell.category])

    return Dimension(key, title, column, tuple(sorted(cells, key=sort_key)))


def _natural_order(key: str, categories: list[str]) -> dict[str, int]:
    """Age bands in age order; other categories alphabetically; unknown ones last."""
    last = (UNKNOWN, "Unrecognised", HIDDEN)
    if key == "age_band":
        ranks = {band: i for i, band in enumerate((*AGE_BANDS, UNKNOWN))}
        return {c: ranks.get(c, len(ranks)) for c in categories}
    ordered = sorted(categories, key=lambda c: (last.index(c) + 1 if c in last else 0, c))
    return {c: i for i, c in enumerate(ordered)}
