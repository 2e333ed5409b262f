"""The compliance programme: the implementation guide's five actions as a tracked checklist.

Each organisation works through the same five actions (:data:`ACTIONS`).  A step is one
action for one organisation: who owns it (a role), its status, when it is due, and the
evidence that it was done.  Rows are written only when a step is first changed; until
then a step reads as its action's defaults, not started.

Two rules hold on every change (:func:`update_step`):

- a step is marked done only with evidence, given now or recorded before;
- only action 3 (set up the technical solution) may be marked not needed, and only while
  the organisation need not set it up itself: the register shows the technical solution
  is optional, or the organisation's clinical system supplier applies opt-outs for it
  (:attr:`~ndoo.compliance.solution.TechnicalSolution.must_set_up`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError

from ndoo import audit
from ndoo.compliance.solution import DEFAULT_HORIZON_DAYS, technical_solution_in, today_utc
from ndoo.db import Database
from ndoo.db.models import OWNER_ROLES, STEP_STATUSES, compliance_step
from ndoo.errors import InputError, RuleViolation
from ndoo.settings import SETTINGS_BY_NAME
from ndoo.timeutil import from_db, iso, to_db, utcnow
from ndoo.uphold.cacheentry import no_nhs_number

NOT_STARTED, IN_PROGRESS, DONE, NOT_NEEDED = STEP_STATUSES

#: The action whose step may be marked not needed: setting up the technical solution.
TECHNICAL_SOLUTION_ACTION = 3

MAX_EVIDENCE_LENGTH = 2000

STATUS_LABELS: dict[str, str] = {
    NOT_STARTED: "not started",
    IN_PROGRESS: "in progress",
    DONE: "done",
    NOT_NEEDED: "not needed",
}

ROLE_LABELS: dict[str, str] = {
    "ig_lead": "Information governance lead",
    "caldicott_guardian": "Caldicott Guardian",
    "siro": "Senior Information Risk Owner",
    "dpo": "Data Protection Officer",
    "cio": "Chief Information Officer",
    "ccio": "Chief Clinical Information Officer",
    "chief_executive": "Chief Executive",
    "board": "Board",
}
assert set(ROLE_LABELS) == set(OWNER_ROLES), "every owner role needs a label"


@dataclass(frozen=True)
class Action:
    """One of the implementation guide's five actions."""

    number: int
    title: str
    involves: tuple[str, ...]
    default_owner: str
    evidence_hint: str


ACTIONS: tuple[Action, ...] = (
    Action(
        1,
        "Assess data disclosures and update procedures",
        (
            "Find or prepare the list of data uses and disclosures (for example the record "
            "of processing activities), or take stock if there is none or it is incomplete",
            "Assess every current and ongoing disclosure against the national data opt-out policy",
            "Update the procedure for new disclosure requests so that each is checked for "
            "national data opt-out scope, and document it",
            "Remind staff what use and disclosure of patient data is allowed, and when "
            "formal approval is needed",
        ),
        "ig_lead",
        "the disclosure register and the updated procedure for new requests",
    ),
    Action(
        2,
        "Decide whether to implement the technical solution",
        (
            "It is required if a current disclosure is in scope, or one will be very soon",
            "It is optional if none is in scope now and none is likely within the next 3 to "
            "4 months; compliance can then be declared without it",
            "GP practices on the principal GP systems, and organisations using TPP "
            "SystmOne's Strategic Reporting Extract, need not set it up themselves: the "
            "supplier's system applies opt-outs, unless other IT systems create disclosures",
            "Record the decision and who agreed it",
        ),
        "siro",
        "the recorded decision and who agreed it",
    ),
    Action(
        3,
        "Set up the technical solution",
        (
            "Install MESH, or configure it, for the Check for National Data Opt-outs service",
            "Review the service's licence agreement",
            "Choose between checking each disclosure and a temporary cache of checked NHS numbers",
            "Allocate the tasks: list the NHS numbers, send them, receive the returned list, "
            "remove the whole record of everyone not on it, confirm opt-outs were applied",
            "Test the process with the service's test data",
        ),
        "cio",
        "the MESH mailbox in use and a successful test with the service",
    ),
    Action(
        4,
        "Implement new processes",
        (
            "Complete a Data Protection Impact Assessment covering the preparation of data "
            "for disclosure with national data opt-outs applied",
            "Update the standard operating procedures to include the Check for National Data "
            "Opt-outs service and applying opt-outs where needed",
        ),
        "dpo",
        "the approved DPIA and the updated standard operating procedures",
    ),
    Action(
        5,
        "Plan communications and declare compliance",
        (
            "Tell staff about the updated procedures before the compliance date",
            "Update the privacy notice with a declaration of compliance",
            "Tell organisations that receive data whether opt-outs will be applied to their "
            "disclosures",
            "Agree the compliance date and get approval within the organisation",
        ),
        "caldicott_guardian",
        "the communications sent and the approval of the compliance date",
    ),
)

ACTIONS_BY_NUMBER: dict[int, Action] = {a.number: a for a in ACTIONS}


@dataclass(frozen=True)
class Step:
    """One action of one organisation's programme, as it stands.

    ``updated_at`` and ``updated_by`` are ``None`` while nothing has been recorded.
    """

    action: int
    title: str
    involves: tuple[str, ...]
    owner_role: str
    status: str
    due: date | None
    evidence: str
    updated_at: datetime | None = None
    updated_by: str | None = None

    @property
    def settled(self) -> bool:
        """Done, or marked not needed."""
        return self.status in (DONE, NOT_NEEDED)

    @property
    def owner_label(self) -> str:
        return ROLE_LABELS[self.owner_role]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def overdue(self, today: date) -> bool:
        """Its due date has passed and it is not settled."""
        return self.due is not None and self.due < today and not self.settled

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "title": self.title,
            "involves": list(self.involves),
            "owner_role": self.owner_role,
            "owner": self.owner_label,
            "status": self.status,
            "due": self.due.isoformat() if self.due else None,
            "evidence": self.evidence,
            "updated_at": iso(self.updated_at) if self.updated_at else None,
            "updated_by": self.updated_by,
        }


def default_step(action: int) -> Step:
    """The step of ``action`` before anything is recorded."""
    spec = _action(action)
    return Step(spec.number, spec.title, spec.involves, spec.default_owner, NOT_STARTED, None, "")


def check_organisation(code: str) -> str:
    """``code`` as an ODS code (upper case), or an :class:`InputError` saying what is wrong."""
    try:
        value: str = SETTINGS_BY_NAME["organisation_code"].cast(code)
    except ValueError as exc:
        raise InputError(f"organisation: {exc}", field="organisation") from None
    return value


def steps(db: Database, organisation: str) -> list[Step]:
    """The five steps of ``organisation``'s programme, in order."""
    with db.read() as conn:
        return steps_in(conn, check_organisation(organisation))


def steps_in(conn: Connection, organisation: str, *, lock: bool = False) -> list[Step]:
    """The five steps, read inside the caller's transaction (``lock`` holds the rows)."""
    query = select(compliance_step).where(compliance_step.c.organisation == organisation)
    if lock:
        query = query.with_for_update()
    rows = {int(row["action"]): row for row in conn.execute(query).mappings()}
    return [
        _step(rows[spec.number]) if spec.number in rows else default_step(spec.number)
        for spec in ACTIONS
    ]


def update_step(
    db: Database,
    organisation: str,
    action: int,
    *,
    actor: str,
    status: str | None = None,
    owner_role: str | None = None,
    due: date | None = None,
    evidence: str | None = None,
    today: date | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    by_supplier: bool = False,
) -> Step:
    """Change a step; what is not given stays as it was.

    Marking a step done needs evidence (given now or recorded before).  Only action 3
    may be marked not needed, and only while the organisation need not set up the
    technical solution itself as of ``today`` with the planning horizon
    ``horizon_days``: the solution is optional, or ``by_supplier`` (its clinical system
    supplier applies opt-outs for it).  A change is written with an audit entry
    ``compliance.step``; a call that changes nothing writes nothing.
    """
    organisation = check_organisation(organisation)
    _action(action)
    if status is not None and status not in STEP_STATUSES:
        raise InputError(
            f"status {status!r} is not one of: {', '.join(STEP_STATUSES)}", field="status"
        )
    if owner_role is not None and owner_role not in OWNER_ROLES:
        raise InputError(
            f"owner role {owner_role!r} is not one of: {', '.join(OWNER_ROLES)}",
            field="owner_role",
        )
    if evidence is not None:
        evidence = _check_evidence(evidence)
    with db.write() as conn:
        row = _row(conn, organisation, action)
        before = _step(row) if row is not None else default_step(action)
        after = replace(
            before,
            status=status if status is not None else before.status,
            owner_role=owner_role if owner_role is not None else before.owner_role,
            due=due if due is not None else before.due,
            evidence=evidence if evidence is not None else before.evidence,
        )
        changed = [
            name
            for name in ("status", "owner_role", "due", "evidence")
            if getattr(before, name) != getattr(after, name)
        ]
        if not changed:
            return before
        _check_rules(
            conn,
            organisation,
            after,
            "status" in changed,
            today or today_utc(),
            horizon_days,
            by_supplier,
        )
        now = utcnow()
        values: dict[str, Any] = {
            "owner_role": after.owner_role,
            "status": after.status,
            "due_date": after.due,
            "evidence": after.evidence,
            "updated_at": to_db(now),
            "updated_by": actor,
        }
        if row is None:
            _insert(conn, organisation, action, values)
        else:
            conn.execute(
                update(compliance_step)
                .where(
                    compliance_step.c.organisation == organisation,
                    compliance_step.c.action == action,
                )
                .values(**values)
            )
        audit.record(
            conn,
            actor=actor,
            action="compliance.step",
            organisation=organisation,
            step=action,
            changed=changed,
            status=after.status,
            owner_role=after.owner_role,
            due=after.due.isoformat() if after.due else None,
            evidence=after.evidence if "evidence" in changed else None,
        )
    return replace(after, updated_at=now, updated_by=actor)


def _check_rules(
    conn: Connection,
    organisation: str,
    step: Step,
    status_changed: bool,
    today: date,
    horizon_days: int,
    by_supplier: bool,
) -> None:
    if step.status == DONE and not step.evidence:
        spec = _action(step.action)
        raise InputError(
            f"action {step.action} ({spec.title}) can be marked done only with evidence of "
            f"what was done, for example {spec.evidence_hint}; give it with --evidence",
            field="evidence",
        )
    if step.status != NOT_NEEDED or not status_changed:
        return
    if step.action != TECHNICAL_SOLUTION_ACTION:
        raise RuleViolation(
            f"only action {TECHNICAL_SOLUTION_ACTION} (set up the technical solution) can be "
            f"marked not needed; action {step.action} ({step.title}) is needed for compliance"
        )
    solution = technical_solution_in(
        conn, organisation, today=today, horizon_days=horizon_days, by_supplier=by_supplier
    )
    if solution.must_set_up:
        raise RuleViolation(
            "the technical solution is required, so action 3 cannot be marked not needed: "
            + " ".join(solution.reasons),
            references=list(solution.references),
        )


def _insert(conn: Connection, organisation: str, action: int, values: dict[str, Any]) -> None:
    """Write the step's first row; if another writer just did, change theirs instead."""
    try:
        with conn.begin_nested():
            conn.execute(
                insert(compliance_step).values(organisation=organisation, action=action, **values)
            )
    except IntegrityError:
        conn.execute(
            update(compliance_step)
            .where(
                compliance_step.c.organisation == organisation,
                compliance_step.c.action == action,
            )
            .values(**values)
        )


def _check_evidence(text: str) -> str:
    value = text.strip()
    if len(value) > MAX_EVIDENCE_LENGTH:
        raise InputError(
            f"evidence is longer than {MAX_EVIDENCE_LENGTH} characters", field="evidence"
        )
    if not value.replace("\n", " ").replace("\t", " ").isprintable():
        raise InputError("evidence cannot hold control characters", field="evidence")
    no_nhs_number(value, "evidence")
    return value


def _action(number: int) -> Action:
    spec = ACTIONS_BY_NUMBER.get(number)
    if spec is None:
        raise InputError(
            f"there is no action {number}; the programme's actions are 1 to {len(ACTIONS)}",
            field="action",
        )
    return spec


def _row(conn: Connection, organisation: str, action: int) -> RowMapping | None:
    return (
        conn.execute(
            select(compliance_step)
            .where(
                compliance_step.c.organisation == organisation,
                compliance_step.c.action == action,
            )
            .with_for_update()
        )
        .mappings()
        .first()
    )


def _step(row: RowMapping) -> Step:
    spec = _action(int(row["action"]))
    return Step(
        action=spec.number,
        title=spec.title,
        involves=spec.involves,
        owner_role=row["owner_role"],
        status=row["status"],
        due=row["due_date"],
        evidence=row["evidence"],
        updated_at=from_db(row["updated_at"]),
        updated_by=row["updated_by"],
    )
