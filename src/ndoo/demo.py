"""The main job on the embedded default: a SQLite register loaded with synthetic England.

``ndoo demo`` (``make demo``) migrates the database named by the settings, generates
a synthetic population if the register is empty, loads it, and summarises the
register: people, opt-outs and the rate by NHS England region, then checks the audit
trail.  Run again, it finds the population loaded and only summarises.

It then starts a MESH sandbox and the checking service locally
(:mod:`ndoo.localrun`) and makes a real round trip: a cohort of registered people is
sent from the organisation's mailbox, answered by the service from the register, and
the cleaned list cached (:func:`run_check_demo`).  The demo organisation's record of
processing is imported and each disclosure assessed (:func:`run_disclosures_demo`), and
the cached list is applied to the one disclosure in scope (:func:`run_apply_demo`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from ndoo import audit
from ndoo.db import Database, migrate
from ndoo.db.bulk import fetch_column
from ndoo.db.models import person
from ndoo.errors import InputError
from ndoo.mesh.transport import Mailbox, MailboxConfig
from ndoo.register.load import LoadSummary, load_population
from ndoo.register.summary import RegisterSummary, summarise
from ndoo.settings import Settings
from ndoo.synth import generate_population
from ndoo.uphold import checking
from ndoo.uphold.checking import Answer
from ndoo.uphold.lists import read_number_list


@dataclass(frozen=True)
class DemoResult:
    database: str
    loaded: LoadSummary | None
    summary: RegisterSummary
    audit: audit.Verification

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "loaded": self.loaded.as_dict() if self.loaded else None,
            "summary": self.summary.as_dict(),
            "audit": self.audit.__dict__,
        }


def _reset_sqlite(db: Database) -> None:
    if db.dialect != "sqlite":
        raise InputError("--reset only removes an embedded SQLite register, never PostgreSQL")
    name = make_url(db.url).database
    if name and name != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)


def run_demo(settings: Settings, *, people: int, seed: int, reset: bool = False) -> DemoResult:
    db = Database.from_settings(settings)
    if reset:
        _reset_sqlite(db)
        db = Database.from_settings(settings)
    migrate.upgrade(db)
    with db.read() as conn:
        known = int(conn.execute(select(func.count()).select_from(person)).scalar_one())
    loaded = None
    if known == 0:
        out = Path(settings.home) / "synth"
        generate_population(people=people, seed=seed, out_dir=out)
        loaded = load_population(db, out, actor=str(settings.actor))
    return DemoResult(db.display_url, loaded, summarise(db), audit.verify(db))


# ---------------------------------------------------------------------------
# The Check service round trip


@dataclass(frozen=True)
class CheckDemo:
    cohort_file: Path
    answer: Answer

    def as_dict(self) -> dict[str, Any]:
        entry = self.answer.cache_entry
        return {
            "cohort_file": str(self.cohort_file),
            "request": self.answer.request.as_dict(),
            "cache_entry": entry.as_dict() if entry else None,
        }


DEMO_COHORT = "demo-registered"


def write_demo_cohort(db: Database, path: Path, *, size: int, seed: int) -> Path:
    """A list of registered people's NHS numbers, as an organisation would send it."""
    with db.read() as conn:
        numbers = fetch_column(conn, select(person.c.nhs_number))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(numbers), size=min(size, len(numbers)), replace=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{numbers[i]}\n" for i in chosen.tolist()), encoding="ascii")
    return path


def run_check_demo(settings: Settings, *, size: int = 20_000, seed: int = 1) -> CheckDemo:
    """Send a cohort of registered people to the local checking service and cache the answer.

    Needs :func:`ndoo.localrun.local_services` running.
    """
    db = Database.from_settings(settings)
    cohort_file = write_demo_cohort(
        db, Path(settings.home) / "demo-cohort.txt", size=size, seed=seed
    )
    numbers = read_number_list(cohort_file)
    with Mailbox(MailboxConfig.from_settings(settings)) as mailbox:
        mailbox.handshake()
        answer = checking.run(
            db,
            mailbox,
            numbers,
            service=settings.check_mailbox,
            cohort=DEMO_COHORT,
            mode="cohort",
            actor=str(settings.actor),
            wait=120.0,
            poll_max=2.0,
        )
    return CheckDemo(cohort_file, answer)


# ---------------------------------------------------------------------------
# The organisation's disclosures and their scope assessments


@dataclass(frozen=True)
class DisclosuresDemo:
    imported: Any  # ndoo.disclosures.ropa.ImportResult
    standings: list[Any]  # ndoo.disclosures.assessments.Standing, by reference
    compliance: Any  # ndoo.compliance.status.ComplianceStatus

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported.as_dict(),
            "disclosures": [s.as_dict() for s in self.standings],
            "compliance": self.compliance.as_dict(),
        }


def run_disclosures_demo(settings: Settings) -> DisclosuresDemo:
    """Import the demo organisation's record of processing and assess every disclosure.

    The spreadsheet (``ndoo/data/demo/ropa.csv``) lists six disclosures; one lacks the
    CAG approval's condition, so its assessment asks for it.  Disclosures whose
    assessment is still current are not assessed again.  The compliance programme's
    status follows from them.
    """
    from importlib import resources

    from ndoo.compliance.status import status
    from ndoo.disclosures import assessments, ropa

    db = Database.from_settings(settings)
    organisation = str(settings.organisation_code)
    sheet = resources.files("ndoo").joinpath("data", "demo", "ropa.csv")
    with resources.as_file(sheet) as path:
        imported = ropa.import_csv(db, path, organisation=organisation, actor=str(settings.actor))
    for standing in assessments.standings(db, organisation=organisation):
        if not standing.current:
            assessments.assess(
                db, standing.entry.reference, organisation=organisation, actor=str(settings.actor)
            )
    return DisclosuresDemo(
        imported,
        assessments.standings(db, organisation=organisation),
        status(db, organisation, horizon_days=int(settings.planning_horizon_days)),
    )


# ---------------------------------------------------------------------------
# Applying the cached cleaned list to a disclosure


_DIAGNOSES = ("I10", "E11.9", "J45.9", "K35.8", "M17.1", "N39.0", "R07.4", "S72.0", "Z38.0")
_PROVIDERS = ("RRK", "RR8", "RTH", "R0A", "RJ1", "RGT")
DEMO_DISCLOSURE = "DEMO-AUDIT-2026"


def write_demo_episodes(cohort_file: Path, path: Path, *, seed: int) -> Path:
    """Hospital episodes for the demo cohort, NHS numbers written as people type them."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from ndoo.nhs_number import format_display

    numbers = read_number_list(cohort_file).numbers
    rng = np.random.default_rng(seed)
    repeats = rng.integers(1, 4, size=numbers.size)
    people = np.repeat(numbers, repeats)
    rng.shuffle(people)
    text = [str(int(n)) for n in people]
    style = rng.random(people.size)
    written = [
        format_display(t) if s < 0.2 else (t[:3] + "-" + t[3:6] + "-" + t[6:] if s < 0.3 else t)
        for t, s in zip(text, style, strict=True)
    ]
    admitted = np.datetime64("2025-04-01") + rng.integers(0, 365, size=people.size)
    table = pa.table(
        {
            "episode_id": [f"EP{i:07d}" for i in range(1, people.size + 1)],
            "nhs_number": written,
            "admitted": pa.array(admitted.astype("datetime64[D]")).cast(pa.string()),
            "provider": rng.choice(_PROVIDERS, size=people.size),
            "diagnosis": rng.choice(_DIAGNOSES, size=people.size),
            "length_of_stay": rng.integers(0, 15, size=people.size),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, path)
    return path


def run_apply_demo(settings: Settings, cohort_file: Path, *, seed: int = 1) -> Any:
    """Apply the demo cohort's cached cleaned list to a disclosure of its episodes."""
    from ndoo.apply.duck import DuckEngine
    from ndoo.apply.locations import locate
    from ndoo.apply.release import ApplyRequest, apply
    from ndoo.apply.sources import SourceChoice

    home = Path(settings.home)
    episodes = write_demo_episodes(cohort_file, home / "demo-episodes.csv", seed=seed)
    source = locate(str(episodes))
    target = locate(str(home / "demo-release.csv"), output=True)
    request = ApplyRequest(
        input=source,
        output=target,
        column="nhs_number",
        disclosure=DEMO_DISCLOSURE,
        source=SourceChoice(kind="cache", cohort=DEMO_COHORT),
        overwrite=True,
        organisation=str(settings.organisation_code),
    )
    engine = DuckEngine(memory_limit=str(settings.apply_memory_limit))
    try:
        return apply(
            Database.from_settings(settings), request, actor=str(settings.actor), engine=engine
        )
    finally:
        engine.close()


# ---------------------------------------------------------------------------
# The web service: demo staff accounts and someone to try the citizen journey as

#: The demo's staff accounts, one per role, all with :data:`DEMO_PASSWORD`.
DEMO_STAFF = {
    "agent": ("demo.agent", "Demo contact-centre agent"),
    "proxy_reviewer": ("demo.reviewer", "Demo proxy reviewer"),
    "ig_lead": ("demo.iglead", "Demo IG lead"),
    "analyst": ("demo.analyst", "Demo analyst"),
    "administrator": ("demo.admin", "Demo administrator"),
}
DEMO_PASSWORD = "ndoo-demo-password"


@dataclass(frozen=True)
class WebDemo:
    staff: dict[str, str]  # role -> username
    password: str
    citizen: dict[str, str]  # synthetic details to try the citizen journey with
    demographics_added: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def prepare_web_demo(settings: Settings, *, seed: int = 1) -> WebDemo:
    """Demographics for the synthetic population, demo staff accounts, and an adult with a
    mobile number on record to try the citizen journey as (all synthetic)."""
    from ndoo.db.models import demographics
    from ndoo.errors import NotFound
    from ndoo.identity.demographics import ensure
    from ndoo.staff import accounts

    db = Database.from_settings(settings)
    added = ensure(db, seed=seed)
    for role, (username, name) in DEMO_STAFF.items():
        try:
            accounts.get_by_username(db, username)
        except NotFound:
            accounts.create(db, username, name, role, DEMO_PASSWORD, actor=str(settings.actor))
    with db.read() as conn:
        row = conn.execute(
            select(
                person.c.nhs_number,
                person.c.date_of_birth,
                demographics.c.given_name,
                demographics.c.family_name,
                demographics.c.postcode,
            )
            .join(demographics, demographics.c.nhs_number == person.c.nhs_number)
            .where(
                person.c.date_of_death.is_(None),
                person.c.lacks_capacity.is_(False),
                person.c.date_of_birth.between(date(1950, 1, 1), date(2000, 12, 31)),
                demographics.c.mobile.is_not(None),
            )
            .order_by(person.c.nhs_number)
            .limit(1)
        ).one()
    citizen = {
        "nhs_number": row.nhs_number,
        "date_of_birth": row.date_of_birth.isoformat(),
        "name": f"{row.given_name} {row.family_name}",
        "postcode": row.postcode,
    }
    return WebDemo({r: u for r, (u, _) in DEMO_STAFF.items()}, DEMO_PASSWORD, citizen, added)


# ---------------------------------------------------------------------------
# The statistics publication, from the synthetic register


@dataclass(frozen=True)
class StatsDemo:
    folder: Path
    period_end: date
    files: list[Path]
    opt_out: int
    list_size: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "period_end": self.period_end.isoformat(),
            "files": [p.name for p in self.files],
            "opt_out": self.opt_out,
            "list_size": self.list_size,
        }


def run_stats_demo(settings: Settings, *, months: int = 12) -> StatsDemo:
    """The publication for the 12 months to the start of this month, into
    NDOO_HOME/publication.  Synthetic NHS numbers are all in the 9xx test range, so they
    are kept in the counts (the setting ``stats_drop_test_numbers`` is for real data)."""
    from ndoo.stats.publication import compute, write
    from ndoo.timeutil import utcnow

    period_end = utcnow().date().replace(day=1)
    db = Database.from_settings(settings)
    found = compute(db, period_end=period_end, months=months, drop_test_numbers=False)
    folder = Path(settings.home) / "publication"
    files = write(found, folder, overwrite=True)
    latest = found.national.to_pylist()[0]
    return StatsDemo(folder, period_end, files, int(latest["OPT_OUT"]), int(latest["LIST_SIZE"]))


# ---------------------------------------------------------------------------
# Staff training: a roster, some staff already trained, reminders


@dataclass(frozen=True)
class TrainingDemo:
    on_roster: int
    passed: int
    percent_in_date: float
    learner: str  # an email address to take the module as
    reminders_sent: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


#: The demo's staff who have already passed the module (the others have not).
DEMO_TRAINED = ("bethan.pritchard", "chidi.okafor", "emma.walsh", "farhan.iqbal", "james.osei")


def run_training_demo(settings: Settings) -> TrainingDemo:
    """The demo organisation's staff roster (``ndoo/data/demo/staff.csv``), five of them
    through the module, the dashboard's figures, and today's renewal reminders."""
    from importlib import resources

    from ndoo.identity.notify import notifier_from_settings
    from ndoo.training import assessment, dashboard, renewals, roster

    db = Database.from_settings(settings)
    staff_csv = Path(str(resources.files("ndoo") / "data" / "demo" / "staff.csv"))
    roster.import_csv(db, staff_csv, actor=str(settings.actor), mark_leavers=True)
    passed = 0
    for name in DEMO_TRAINED:
        member = roster.get(db, f"{name}@demo-trust.nhs.uk")
        if not assessment.completions(db, member.id):
            _pass_module(db, member.id)
        passed += 1
    board = dashboard.dashboard(db, settings)
    sent = renewals.remind(db, notifier_from_settings(settings, db), settings).sent
    return TrainingDemo(
        on_roster=len(roster.members(db)),
        passed=passed,
        percent_in_date=board.overall.percent,
        learner="alex.morgan@demo-trust.nhs.uk",
        reminders_sent=sent,
    )


def _pass_module(db: Database, trainee_id: int) -> None:
    """Take the module for a demo member of staff, answering every question right."""
    from ndoo.training import assessment

    attempt = assessment.start(db, trainee_id)
    step = assessment.step(db, attempt.id, trainee_id)
    while step.stage != assessment.DONE:
        if step.stage == assessment.ASK and step.question is not None:
            step = assessment.answer(
                db,
                attempt.id,
                trainee_id,
                question_id=step.question.id,
                option_id=step.question.answer,
            ).step
        else:
            step = assessment.proceed(db, attempt.id, trainee_id)
