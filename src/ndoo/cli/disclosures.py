"""``ndoo disclosures``: the disclosure register, its spreadsheet, and scope assessments."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ndoo.cli import common
from ndoo.cli.common import (
    actor,
    database,
    emit_json,
    handle_errors,
    json_option,
    organisation_option,
)
from ndoo.db import Database
from ndoo.disclosures import assessments, guided, library, ropa, rules, store
from ndoo.disclosures.assessments import Assessment, Standing
from ndoo.disclosures.facts import BY_NAME, FIELDS
from ndoo.disclosures.guided import Question
from ndoo.disclosures.record import parse, parse_value
from ndoo.disclosures.scope import MORE_INFORMATION
from ndoo.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])

_FIELD_KEYS = {
    key: f.name for f in FIELDS for key in (f.name, f.name.replace("_", "-"), f.column.lower())
}


def set_option(func: F) -> F:
    return click.option(
        "--set",
        "settings",
        multiple=True,
        metavar="FIELD=VALUE",
        help="Set a field (name or spreadsheet column, e.g. purpose=research or "
        "'Legal basis=s251 reg 5'); repeat for more.",
    )(func)


def _pairs(settings: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        name = _FIELD_KEYS.get(key.strip().lower())
        if not sep or name is None:
            known = ", ".join(f.name for f in FIELDS)
            raise InputError(f"--set {item!r}: expected FIELD=VALUE with FIELD one of {known}")
        out[name] = value
    return out


def _parsed(texts: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, text in texts.items():
        spec = BY_NAME[name]
        if not text.strip():
            values[name] = () if spec.kind == "choices" else None
            continue
        try:
            values[name] = parse_value(name, text.strip())
        except ValueError as exc:
            raise InputError(f"{spec.column}: {exc}", field=name) from None
    return values


@click.group("disclosures")
def disclosures_group() -> None:
    """The register of disclosures and whether national data opt-outs apply to each.

    Each disclosure (a use or a flow of data) records its purpose, legal basis and the
    other facts the scope rules read.  Every change is kept as a version; a change to a
    fact that bears on scope needs a new assessment before data is released.

    Example:

        ndoo disclosures import ropa.csv && ndoo disclosures list
    """


@disclosures_group.command("list")
@click.option("--state", help="Only disclosures in this state, e.g. APPLY or 'not assessed'.")
@organisation_option
@json_option
@click.pass_context
@handle_errors
def list_command(
    ctx: click.Context, state: str | None, organisation: str | None, as_json: bool
) -> None:
    """List the disclosures with where each stands.

    Example:

        ndoo disclosures list --state "not assessed"
    """
    org = common.organisation(ctx, organisation)
    found = assessments.standings(database(ctx), organisation=org)
    if state:
        found = [s for s in found if s.state.lower() == state.strip().lower()]
    if as_json:
        emit_json([_standing_json(s) for s in found])
        return
    if not found:
        click.echo(f"No disclosures in the register of {org}.")
        return
    width = max(len(s.entry.reference) for s in found)
    for item in found:
        d = item.entry.disclosure
        purpose = BY_NAME["purpose"].label_of(d.purpose) if d.purpose else "purpose not recorded"
        click.echo(
            f"{d.reference:<{width}}  {item.state:<24}  v{item.entry.version:<3} "
            f"{d.title} -> {d.recipient} ({purpose})"
        )


def _standing_json(item: Standing) -> dict[str, Any]:
    return {**item.entry.as_dict(), "state": item.state}


@disclosures_group.command("show")
@click.argument("reference")
@organisation_option
@json_option
@click.pass_context
@handle_errors
def show_command(
    ctx: click.Context, reference: str, organisation: str | None, as_json: bool
) -> None:
    """Show a disclosure's record and its latest assessment.

    Example:

        ndoo disclosures show NCAPOP-01
    """
    db = database(ctx)
    org = common.organisation(ctx, organisation)
    entry = store.get(db, reference, organisation=org)
    with db.read() as conn:
        standing = assessments.standing_in(conn, entry)
    if as_json:
        emit_json(
            {
                **_standing_json(standing),
                "assessment": standing.assessment.as_dict() if standing.assessment else None,
            }
        )
        return
    click.echo(f"{entry.reference} (version {entry.version}, {org}): {standing.state}")
    for spec in FIELDS:
        value = getattr(entry.disclosure, spec.name)
        if value in (None, ()):
            continue
        if isinstance(value, tuple):
            text = "; ".join(spec.label_of(v) for v in value)
        elif spec.choices:
            text = spec.label_of(value)
        else:
            text = str(value)
        click.echo(f"  {spec.column}: {text}")
    if standing.assessment is not None:
        click.echo("")
        _echo_assessment(standing.assessment)


@disclosures_group.command("add")
@click.argument("reference")
@click.option("--title", help="What the disclosure is.")
@click.option("--recipient", help="Who receives the data.")
@click.option(
    "--from-library",
    "case_name",
    metavar="CASE",
    help="Start from a common disclosure of the built-in library (ndoo disclosures library).",
)
@set_option
@organisation_option
@json_option
@click.pass_context
@handle_errors
def add_command(
    ctx: click.Context,
    reference: str,
    title: str | None,
    recipient: str | None,
    case_name: str | None,
    settings: tuple[str, ...],
    organisation: str | None,
    as_json: bool,
) -> None:
    """Add a disclosure to the register.

    Example:

        ndoo disclosures add AUD-7 --from-library national-clinical-audit-s251
    """
    texts: dict[str, str] = dict(library.case(case_name).values) if case_name else {}
    # The library writes what only the organisation can know as "[from the approval
    # letter]": left blank, so the assessment asks for it.
    placeholders = [
        BY_NAME[name].column
        for name, text in texts.items()
        if text.strip().startswith("[") and text.strip().endswith("]")
    ]
    texts = {
        name: ("" if BY_NAME[name].column in placeholders else text) for name, text in texts.items()
    }
    texts.update(_pairs(settings))
    texts["reference"] = reference
    if title is not None:
        texts["title"] = title
    if recipient is not None:
        texts["recipient"] = recipient
    disclosure, problems = parse(texts)
    if disclosure is None:
        raise InputError("; ".join(p.message for p in problems), field=problems[0].field)
    org = common.organisation(ctx, organisation)
    entry = store.add(database(ctx), disclosure, organisation=org, actor=actor(ctx))
    if as_json:
        emit_json(entry.as_dict())
        return
    click.echo(
        f"Added {entry.reference} to the register of {org}; assess it with "
        f"ndoo disclosures assess {entry.reference}"
    )
    if placeholders:
        click.echo(f"Fill in from your own records: {', '.join(placeholders)}.")


@disclosures_group.command("change")
@click.argument("reference")
@set_option
@organisation_option
@json_option
@click.pass_context
@handle_errors
def change_command(
    ctx: click.Context,
    reference: str,
    settings: tuple[str, ...],
    organisation: str | None,
    as_json: bool,
) -> None:
    """Change fields of a disclosure; a new version is kept.

    A change to a fact that bears on scope marks the disclosure for re-assessment.

    Example:

        ndoo disclosures change RS-01 --set cag_condition=standard
    """
    if not settings:
        raise InputError("say what to change with --set FIELD=VALUE")
    org = common.organisation(ctx, organisation)
    entry = store.change(
        database(ctx),
        reference,
        _parsed(_pairs(settings)),
        organisation=org,
        actor=actor(ctx),
    )
    if as_json:
        emit_json(entry.as_dict())
        return
    note = " (needs a new assessment)" if entry.needs_assessment else ""
    click.echo(f"{entry.reference} is now version {entry.version}{note}.")


@disclosures_group.command("assess")
@click.argument("reference")
@set_option
@click.option(
    "--no-input",
    is_flag=True,
    help="Ask nothing: record the assessment as the register stands.",
)
@organisation_option
@json_option
@click.pass_context
@handle_errors
def assess_command(
    ctx: click.Context,
    reference: str,
    settings: tuple[str, ...],
    no_input: bool,
    organisation: str | None,
    as_json: bool,
) -> None:
    """Assess a disclosure against the national data opt-out policy, step by step.

    Only the questions the rules still need are asked, one at a time; each answer is
    kept as a new version of the disclosure.  Press Enter without an answer to stop:
    the assessment is then recorded as needing more information.  The outcome is
    APPLY, DO NOT APPLY or MORE INFORMATION NEEDED, with each reason and the policy
    section it rests on.

    Example:

        ndoo disclosures assess NCAPOP-01
    """
    db = database(ctx)
    org = common.organisation(ctx, organisation)
    who = actor(ctx)
    for name, text in _pairs(settings).items():
        guided.answer(db, reference, name, text, organisation=org, actor=who)
    if not (no_input or as_json):
        _ask(db, reference, org, who)
    result = assessments.assess(db, reference, organisation=org, actor=who)
    if as_json:
        emit_json(
            {
                **result.as_dict(),
                "questions": [
                    q.as_dict()
                    for q in guided.questions(store.get(db, reference, organisation=org))
                ],
            }
        )
        return
    _echo_assessment(result)


def _ask(db: Database, reference: str, organisation: str, who: str) -> None:
    entry = store.get(db, reference, organisation=organisation)
    click.echo(f"Assessing {entry.reference}: {entry.disclosure.title}")
    while True:
        open_questions = guided.questions(entry)
        if not open_questions:
            return
        question = open_questions[0]
        text = _prompt(question)
        if text is None:
            return
        entry = guided.answer(
            db, reference, question.field, text, organisation=organisation, actor=who
        )


def _prompt(question: Question) -> str | None:
    click.echo("")
    if question.contradiction:
        click.secho(f"These answers contradict each other: {question.contradiction}.", bold=True)
    click.echo(question.text)
    if question.current:
        click.echo(f"  (recorded now: {question.current})")
    if question.choices:
        for number, (_code, label) in enumerate(question.choices, start=1):
            click.echo(f"  {number}. {label}")
    hint = "number" if question.choices else "answer"
    if question.kind == "choices":
        hint = "numbers separated by ';'"

    def convert(raw: str) -> str:
        raw = raw.strip()
        if not raw or not question.choices:
            return raw
        parts = [p.strip() for p in raw.split(";")] if question.kind == "choices" else [raw]
        codes = []
        for part in parts:
            if part.isdigit() and 1 <= int(part) <= len(question.choices):
                codes.append(question.choices[int(part) - 1][0])
                continue
            try:
                codes.append(BY_NAME[question.field].parse_choice(part))
            except ValueError as exc:
                raise click.BadParameter(str(exc)) from None
        return "; ".join(codes)

    answer = click.prompt(
        f"Your {hint} (Enter to stop here)",
        default="",
        show_default=False,
        value_proc=convert,
    )
    return str(answer) or None


def _echo_assessment(result: Assessment) -> None:
    outcome = result.result
    click.echo(
        f"{result.reference}: {outcome.outcome} (scope rules {outcome.ruleset}, "
        f"disclosure version {result.disclosure_version}, assessed by {result.assessed_by})"
    )
    for number, reason in enumerate(outcome.reasons, start=1):
        flag = " [policy not settled]" if reason.unverified else ""
        click.echo(f"  {number}. [{reason.step}] {reason.text}{flag}")
        click.echo(f"     {reason.cite}: {reason.source}")
    for item in outcome.contradictions:
        click.echo(f"  Contradiction: {item}.")
    if outcome.outcome == MORE_INFORMATION:
        named = ", ".join(BY_NAME[m].column if m in BY_NAME else m for m in outcome.missing)
        click.echo(f"  Still needed: {named}.")
        click.echo(f"  Answer with: ndoo disclosures assess {result.reference}")


@disclosures_group.command("history")
@click.argument("reference")
@organisation_option
@json_option
@click.pass_context
@handle_errors
def history_command(
    ctx: click.Context, reference: str, organisation: str | None, as_json: bool
) -> None:
    """Every version of a disclosure and every assessment of it, oldest first.

    Example:

        ndoo disclosures history NCAPOP-01
    """
    db = database(ctx)
    org = common.organisation(ctx, organisation)
    versions = store.history(db, reference, organisation=org)
    done = assessments.history(db, reference, organisation=org)
    if as_json:
        emit_json(
            {
                "versions": [v.as_dict() for v in versions],
                "assessments": [a.as_dict() for a in done],
            }
        )
        return
    events: list[tuple[Any, str]] = [
        (
            v.at,
            f"v{v.version} {v.change} by {v.actor}: {', '.join(v.changed) or 'no field'}"
            + (" (bears on scope)" if v.scope_changed else ""),
        )
        for v in versions
    ]
    events += [
        (
            a.assessed_at,
            f"assessed by {a.assessed_by} on v{a.disclosure_version} under rules "
            f"{a.result.ruleset}: {a.outcome}",
        )
        for a in done
    ]
    for at, text in sorted(events, key=lambda item: item[0]):
        click.echo(f"{at:%Y-%m-%d %H:%M:%S}  {text}")


@disclosures_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@organisation_option
@json_option
@click.pass_context
@handle_errors
def import_command(ctx: click.Context, path: Path, organisation: str | None, as_json: bool) -> None:
    """Import a record-of-processing spreadsheet (CSV); nothing is imported on any error.

    Columns are matched by field name or spreadsheet label; every bad row is named by
    its line and column.  A disclosure already in the register is changed to match.

    Example:

        ndoo disclosures import ropa.csv
    """
    org = common.organisation(ctx, organisation)
    result = ropa.import_csv(database(ctx), path, organisation=org, actor=actor(ctx))
    if as_json:
        emit_json(result.as_dict())
        return
    click.echo(result.describe())


@disclosures_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
@organisation_option
@click.pass_context
@handle_errors
def export_command(
    ctx: click.Context, path: Path, overwrite: bool, organisation: str | None
) -> None:
    """Export the register as a record-of-processing spreadsheet (CSV).

    Example:

        ndoo disclosures export ropa.csv
    """
    org = common.organisation(ctx, organisation)
    rows = ropa.export_csv(database(ctx), path, organisation=org, overwrite=overwrite)
    click.echo(f"Wrote {rows} disclosure{'s' if rows != 1 else ''} to {path}.")


@disclosures_group.command("library")
@json_option
@handle_errors
def library_command(as_json: bool) -> None:
    """The built-in library of common disclosures and their expected outcomes.

    Start a disclosure from one with ndoo disclosures add REF --from-library CASE.

    Example:

        ndoo disclosures library
    """
    cases = library.cases()
    if as_json:
        emit_json([case.as_dict() for case in cases])
        return
    width = max(len(case.name) for case in cases)
    for case in cases:
        click.echo(f"{case.name:<{width}}  {case.expected:<23}  {case.title}")


@disclosures_group.command("rules")
@click.option("--version", "version", help="A rule-set version (default: the one in force).")
@json_option
@handle_errors
def rules_command(version: str | None, as_json: bool) -> None:
    """Show the scope rules: each rule, its outcome and the policy it rests on.

    Example:

        ndoo disclosures rules
    """
    ruleset = rules.load(version)
    if as_json:
        emit_json(
            {
                "version": ruleset.version,
                "title": ruleset.title,
                "policy": ruleset.policy,
                "effective": ruleset.effective.isoformat(),
                "versions": rules.versions(),
                "rules": [
                    {
                        "id": r.id,
                        "step": r.step,
                        "when": {k: sorted(v) for k, v in r.when.items()},
                        "unless": {k: sorted(v) for k, v in r.unless.items()},
                        "needs": list(r.needs),
                        "outcome": r.outcome,
                        "reason": r.reason,
                        "cite": r.cite,
                        "source": r.source,
                        "unverified": r.unverified,
                    }
                    for r in ruleset.rules
                ],
            }
        )
        return
    click.echo(f"{ruleset.title}, version {ruleset.version} (from {ruleset.effective})")
    click.echo(f"Based on: {ruleset.policy}")
    for rule in ruleset.rules:
        when = "; ".join(f"{k} in {', '.join(sorted(v))}" for k, v in rule.when.items())
        unless = "; ".join(f"{k} not in {', '.join(sorted(v))}" for k, v in rule.unless.items())
        flag = " [policy not settled]" if rule.unverified else ""
        click.echo(f"\n{rule.id} -> {rule.outcome}{flag}")
        click.echo(f"  when {when}" + (f"; {unless}" if unless else ""))
        click.echo(f"  {rule.cite}: {rule.source}")
