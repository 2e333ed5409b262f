"""``ndoo compliance``: the compliance programme, its declaration and its documents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from ndoo.cli import common
from ndoo.cli.common import (
    actor,
    database,
    emit_json,
    get_settings,
    handle_errors,
    json_option,
    organisation_option,
)
from ndoo.compliance import documents as docs
from ndoo.compliance import programme
from ndoo.compliance.declaration import declare
from ndoo.compliance.programme import Step, update_step
from ndoo.compliance.solution import TechnicalSolution, today_utc
from ndoo.compliance.status import ComplianceStatus, status
from ndoo.db.models import OWNER_ROLES, STEP_STATUSES
from ndoo.errors import InputError
from ndoo.timeutil import iso

F = TypeVar("F", bound=Callable[..., Any])


def _horizon(ctx: click.Context) -> int:
    return int(get_settings(ctx).planning_horizon_days)


def _by_supplier(ctx: click.Context) -> bool:
    return bool(get_settings(ctx).technical_solution_by_supplier)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date (YYYY-MM-DD)", field=option) from None


@click.group("compliance")
def compliance_group() -> None:
    """The organisation's compliance with the national data opt-out policy.

    The implementation guide's five actions as a checklist, whether the technical
    solution is required, the declaration of compliance, and the documents that go
    with it, all worked out from the organisation's disclosure register.

    Example:

        ndoo compliance status
    """


@compliance_group.command("status")
@organisation_option
@json_option
@click.pass_context
@handle_errors
def status_command(ctx: click.Context, organisation: str | None, as_json: bool) -> None:
    """Show where the organisation stands, and what to do next.

    The steps, whether the technical solution is required and why, the declaration,
    the disclosures by assessment state, any breaches, and the next actions.

    Example:

        ndoo compliance status --json
    """
    found = status(
        database(ctx),
        common.organisation(ctx, organisation),
        horizon_days=_horizon(ctx),
        by_supplier=_by_supplier(ctx),
    )
    if as_json:
        emit_json(found.as_dict())
        return
    for line in _describe(found):
        click.echo(line)


@compliance_group.command("step")
@click.argument("action", type=int)
@click.option(
    "--status",
    "new_status",
    type=click.Choice(STEP_STATUSES),
    help="New status; done needs evidence, and only action 3 can be not_needed.",
)
@click.option("--owner", type=click.Choice(OWNER_ROLES), help="Role that owns the step.")
@click.option("--due", help="Date the step is due (YYYY-MM-DD).")
@click.option("--evidence", help="What shows the step was done (needed to mark it done).")
@organisation_option
@json_option
@click.pass_context
@handle_errors
def step_command(
    ctx: click.Context,
    action: int,
    new_status: str | None,
    owner: str | None,
    due: str | None,
    evidence: str | None,
    organisation: str | None,
    as_json: bool,
) -> None:
    """Show or change one action of the programme (1 to 5).

    With no option, show the step. Actions: 1 assess data disclosures and update
    procedures; 2 decide whether to implement the technical solution; 3 set up the
    technical solution; 4 implement new processes; 5 plan communications and declare
    compliance.

    Example:

        ndoo compliance step 1 --status done --evidence "IG board minutes"
    """
    org = common.organisation(ctx, organisation)
    db = database(ctx)
    if new_status is None and owner is None and due is None and evidence is None:
        programme.default_step(action)  # refuses an action that does not exist
        step = programme.steps(db, org)[action - 1]
    else:
        step = update_step(
            db,
            org,
            action,
            actor=actor(ctx),
            status=new_status,
            owner_role=owner,
            due=_date(due, "--due") if due is not None else None,
            evidence=evidence,
            horizon_days=_horizon(ctx),
            by_supplier=_by_supplier(ctx),
        )
    if as_json:
        emit_json(step.as_dict())
        return
    for line in _step_lines(step, details=True):
        click.echo(line)


@compliance_group.command("declare")
@click.option("--on", "on", help="Date compliance holds from (YYYY-MM-DD; default today).")
@organisation_option
@json_option
@click.pass_context
@handle_errors
def declare_command(
    ctx: click.Context, on: str | None, organisation: str | None, as_json: bool
) -> None:
    """Declare compliance, or say everything that stands in the way.

    Every action must be done (action 3 may be not needed while the technical
    solution is optional) and every disclosure running until the date must have a
    current, decided assessment.

    Example:

        ndoo compliance declare --on 2026-03-31
    """
    org = common.organisation(ctx, organisation)
    declared = declare(
        database(ctx),
        org,
        actor=actor(ctx),
        on=_date(on, "--on") if on is not None else today_utc(),
        horizon_days=_horizon(ctx),
        by_supplier=_by_supplier(ctx),
    )
    if as_json:
        emit_json(declared.as_dict())
        return
    supplier = (
        ", opt-outs applied by the clinical system supplier"
        if declared.summary["technical_solution"].get("by_supplier")
        else ""
    )
    click.echo(
        f"declared: {org} complies with the national data opt-out policy from "
        f"{declared.declared_on} (technical solution {declared.technical_solution}{supplier}); "
        "update the privacy notice (ndoo compliance documents)"
    )


@compliance_group.command("documents")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the documents into (created if missing).",
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(docs.FORMATS),
    help="Format to write; repeat for both (default: md and html).",
)
@click.option("--name", help="Organisation name to write (default: NDOO_ORGANISATION_NAME).")
@organisation_option
@json_option
@click.pass_context
@handle_errors
def documents_command(
    ctx: click.Context,
    out_dir: Path,
    formats: tuple[str, ...],
    name: str | None,
    organisation: str | None,
    as_json: bool,
) -> None:
    """Write the compliance documents, as Markdown and HTML.

    The DPIA section for applying opt-outs, the SOP update, the privacy-notice text,
    the staff briefing, and a notice for each recipient of a disclosure assessed
    APPLY, generated from the register, the programme and the declaration.

    Example:

        ndoo compliance documents --out compliance-docs --format md --format html
    """
    written = docs.write_documents(
        database(ctx),
        common.organisation(ctx, organisation),
        out_dir,
        name=name or str(get_settings(ctx).organisation_name),
        formats=formats or docs.FORMATS,
        horizon_days=_horizon(ctx),
        by_supplier=_by_supplier(ctx),
    )
    if as_json:
        emit_json({"written": [str(path) for path in written]})
        return
    click.echo(f"wrote {len(written)} files to {out_dir}:")
    for path in written:
        click.echo(f"  {path.name}")


def _step_lines(step: Step, *, details: bool = False) -> list[str]:
    facts = [step.status_label, f"owner {step.owner_label}"]
    if step.due:
        facts.append(f"due {step.due}")
    lines = [f"  {step.action}. {step.title}", f"     {'; '.join(facts)}"]
    if step.evidence:
        lines.append(f"     evidence: {' '.join(step.evidence.split())}")
    if details:
        lines += [f"     - {item}" for item in step.involves]
        if step.updated_by and step.updated_at:
            lines.append(f"     last changed {iso(step.updated_at)} by {step.updated_by}")
    return lines


def _solution_lines(solution: TechnicalSolution) -> list[str]:
    provisional = " (provisional)" if solution.provisional else ""
    supplier = "; opt-outs applied by the clinical system supplier" if solution.by_supplier else ""
    lines = [f"Technical solution: {solution.verdict}{provisional}{supplier}"]
    lines += [f"  - {reason}" for reason in solution.reasons]
    lines.append(f"  {solution.obligation}")
    return lines


def _describe(found: ComplianceStatus) -> list[str]:
    lines = [f"{found.organisation}: {found.state} (as of {found.as_of})", "", "Programme:"]
    for step in found.steps:
        lines += _step_lines(step)
    lines += ["", *_solution_lines(found.solution), ""]
    if found.declaration is None:
        lines.append("Declaration: not declared")
    else:
        d = found.declaration
        lines.append(
            f"Declaration: compliant from {d.declared_on}, declared by {d.declared_by} "
            f"on {iso(d.declared_at)[:10]} (technical solution {d.technical_solution})"
        )
    total = sum(found.counts.values())
    lines += ["", f"Disclosures: {total}"]
    for state, refs in found.disclosures.items():
        lines.append(f"  {state}: {len(refs)} ({', '.join(refs)})")
    if found.declaration is not None:
        lines += ["", f"Breaches: {len(found.breaches) or 'none'}"]
        lines += [f"  - {breach.message}" for breach in found.breaches]
    if found.next_actions:
        lines += ["", "Next:"]
        lines += [f"  - {action.text}" for action in found.next_actions]
    return lines
