"""A summary of the register: people, opt-outs and the rate by NHS England region."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from ndoo import geography
from ndoo.db import Database
from ndoo.db.models import choice_record, gp_practice, person
from ndoo.register.records import opted_out_as_of
from ndoo.timeutil import iso, utcnow

UNALLOCATED = "Unallocated"


@dataclass(frozen=True)
class AreaRate:
    code: str
    name: str
    people: int
    opted_out: int

    @property
    def rate(self) -> float:
        return 100.0 * self.opted_out / self.people if self.people else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "rate": round(self.rate, 2)}


@dataclass(frozen=True)
class RegisterSummary:
    as_of: datetime
    people: int
    opted_out: int
    deceased_opted_out: int
    regions: list[AreaRate] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return 100.0 * self.opted_out / self.people if self.people else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": iso(self.as_of),
            "people": self.people,
            "opted_out": self.opted_out,
            "rate": round(self.rate, 2),
            "deceased_opted_out": self.deceased_opted_out,
            "regions": [r.as_dict() for r in self.regions],
        }


def summarise(db: Database, as_of: datetime | None = None) -> RegisterSummary:
    """Living people and their opt-outs at ``as_of``, by region of their GP practice.

    Deceased people with an opt-out in force are counted apart, as the official
    statistics do; people with no practice fall under "Unallocated".
    """
    moment = as_of or utcnow()
    day = moment.date()
    living = or_(person.c.date_of_death.is_(None), person.c.date_of_death > day)
    registered = person.outerjoin(gp_practice, gp_practice.c.code == person.c.gp_practice_code)
    # Two grouped counts rather than one outer join: each side then uses its own index
    # (SQLite would otherwise probe every opt-out record for every person).
    people_by_area = (
        select(gp_practice.c.sub_icb_code, func.count())
        .select_from(registered)
        .where(living)
        .group_by(gp_practice.c.sub_icb_code)
    )
    opt_out_people = choice_record.join(person, person.c.nhs_number == choice_record.c.nhs_number)
    opted_out_by_area = (
        select(gp_practice.c.sub_icb_code, func.count())
        .select_from(
            opt_out_people.outerjoin(gp_practice, gp_practice.c.code == person.c.gp_practice_code)
        )
        .where(opted_out_as_of(moment), living)
        .group_by(gp_practice.c.sub_icb_code)
    )
    deceased = (
        select(func.count()).select_from(opt_out_people).where(opted_out_as_of(moment), ~living)
    )
    with db.read() as conn:
        people_counts = {area: int(n) for area, n in conn.execute(people_by_area)}
        out_counts = {area: int(n) for area, n in conn.execute(opted_out_by_area)}
        deceased_opted_out = int(conn.execute(deceased).scalar_one())
    rows = [(area, n, out_counts.get(area, 0)) for area, n in people_counts.items()]
    region_of = geography.region_of_sub_icb()
    totals: dict[tuple[str, str], list[int]] = {}
    for sub_icb, people_count, opted_out in rows:
        key = (
            region_of.get(sub_icb, (UNALLOCATED, UNALLOCATED))
            if sub_icb
            else (UNALLOCATED, UNALLOCATED)
        )
        counts = totals.setdefault(key, [0, 0])
        counts[0] += int(people_count)
        counts[1] += int(opted_out)
    regions = sorted(
        (AreaRate(code, name, n, o) for (code, name), (n, o) in totals.items()),
        key=lambda area: (area.code == UNALLOCATED, area.name),
    )
    return RegisterSummary(
        as_of=moment,
        people=sum(r.people for r in regions),
        opted_out=sum(r.opted_out for r in regions),
        deceased_opted_out=deceased_opted_out,
        regions=regions,
    )
