"""``ndoo training``: the staff roster, renewal reminders, compliance and evidence."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from ndoo.cli.common import (
    actor,
    database,
    emit_json,
    get_settings,
    handle_errors,
    json_option,
)
from ndoo.errors import InputError
from ndoo.identity.notify import notifier_from_settings
from ndoo.training import dashboard, evidence, renewals, roster, translations
from ndoo.training.content import default_folder, parse


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InputError(f"{option}: give the date as YYYY-MM-DD, not {value!r}") from None


@click.group("training")
def training_group() -> None:
    """Staff training on the national data opt-out: roster, reminders, compliance.

    Staff take the module on the web service (/training); the IG lead follows who is
    in date on the console (/console/training).  Which job roles must take it every
    year is the setting NDOO_TRAINING_REQUIRED_ROLES.

    Example:

        ndoo training roster import staff.csv
    """


@training_group.group("roster")
def roster_group() -> None:
    """The staff roster: name, email, team and job role of everyone who may need the training.

    Example:

        ndoo training roster list
    """


@roster_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--whole-list",
    is_flag=True,
    help="The file is the whole staff list: record anyone not in it as having left.",
)
@json_option
@click.pass_context
@handle_errors
def import_command(ctx: click.Context, file: Path, whole_list: bool, as_json: bool) -> None:
    """Bring the roster up to date with a CSV file (name, email, team, role[, start date]).

    New email addresses join; a changed name, team or role is recorded; leavers found
    again rejoin.  People not in the file are listed, and recorded as leavers only with
    --whole-list.  A file with any bad row changes nothing.

    Example:

        ndoo training roster import staff.csv --whole-list
    """
    result = roster.import_csv(database(ctx), file, actor=actor(ctx), mark_leavers=whole_list)
    if as_json:
        emit_json(result.as_dict())
        return
    click.echo(result.summary())
    if result.missing:
        click.echo(
            f"{len(result.missing)} people on the roster are not in the file; import with "
            "--whole-list to record them as having left:"
        )
        for email in result.missing:
            click.echo(f"  {email}")


@roster_group.command("list")
@click.option("--all", "everyone", is_flag=True, help="Include people who have left.")
@json_option
@click.pass_context
@handle_errors
def list_command(ctx: click.Context, everyone: bool, as_json: bool) -> None:
    """List the roster by team.

    Example:

        ndoo training roster list --all
    """
    found = roster.members(database(ctx), include_left=everyone)
    if as_json:
        emit_json([m.as_dict() for m in found])
        return
    for m in found:
        left = f"  (left {m.left_on.isoformat()})" if m.left_on else ""
        click.echo(f"{m.team:<24} {m.role:<24} {m.name:<28} {m.email}{left}")


@roster_group.command("add")
@click.argument("email")
@click.option("--name", required=True, help="Full name.")
@click.option("--team", required=True, help="Team, ward or department.")
@click.option("--role", required=True, help="Job role, as the organisation names it.")
@click.option("--start-date", metavar="YYYY-MM-DD", help="First day in the job (default today).")
@click.pass_context
@handle_errors
def add_command(
    ctx: click.Context, email: str, name: str, team: str, role: str, start_date: str | None
) -> None:
    """Add one person to the roster (or bring their entry up to date).

    Example:

        ndoo training roster add jo.bloggs@nhs.net --name "Jo Bloggs" \
            --team Reception --role Receptionist
    """
    happened = roster.add(
        database(ctx),
        name=name,
        email=email,
        team=team,
        role=role,
        actor=actor(ctx),
        start_date=_day(start_date, "--start-date"),
    )
    click.echo(f"{email}: {happened}.")


@roster_group.command("change")
@click.argument("email")
@click.option("--name", help="New full name.")
@click.option("--team", help="New team.")
@click.option("--role", help="New job role.")
@click.pass_context
@handle_errors
def change_command(
    ctx: click.Context, email: str, name: str | None, team: str | None, role: str | None
) -> None:
    """Change a person's name, team or job role.

    Example:

        ndoo training roster change jo.bloggs@nhs.net --role "Practice manager"
    """
    member = roster.change(database(ctx), email, actor=actor(ctx), name=name, team=team, role=role)
    click.echo(f"{member.email}: {member.name}, {member.role} in {member.team}.")


@roster_group.command("leave")
@click.argument("email")
@click.option("--on", "left_on", metavar="YYYY-MM-DD", help="Last day (default today).")
@click.pass_context
@handle_errors
def leave_command(ctx: click.Context, email: str, left_on: str | None) -> None:
    """Record that a person has left; their training records are kept.

    Example:

        ndoo training roster leave jo.bloggs@nhs.net --on 2026-12-31
    """
    member = roster.leave(database(ctx), email, actor=actor(ctx), on=_day(left_on, "--on"))
    click.echo(f"{member.email} left on {member.left_on}.")


@training_group.command("status")
@click.option("--today", metavar="YYYY-MM-DD", help="Work out standings on this day.")
@json_option
@click.pass_context
@handle_errors
def status_command(ctx: click.Context, today: str | None, as_json: bool) -> None:
    """Who is in date, due within 90 days, not started or overdue, by team and role.

    Example:

        ndoo training status
    """
    board = dashboard.dashboard(database(ctx), get_settings(ctx), _day(today, "--today"))
    if as_json:
        emit_json(board.as_dict())
        return
    overall = board.overall
    click.echo(
        f"{overall.percent:.1f}% of staff whose role requires the training are in date "
        f"({overall.in_date} of {overall.required}) on {board.today.isoformat()}; "
        f"{overall.due} due within {dashboard.DUE_WINDOW} days, {overall.not_started} not "
        f"started, {overall.overdue} overdue."
    )
    for title, groups in (("By team", board.teams), ("By job role", board.roles)):
        click.echo(f"\n{title}:")
        for g in groups:
            click.echo(
                f"  {g.name:<28} {g.percent:5.1f}%  {g.in_date:>4} of {g.required:<4} "
                f"due {g.due:<3} overdue {g.overdue}"
            )
    for title, people in (("Due", board.due), ("Overdue", board.overdue)):
        if people:
            click.echo(f"\n{title}:")
            for s in people:
                click.echo(
                    f"  {s.member.name:<28} {s.member.team:<20} {s.member.role:<20} "
                    f"{s.status:<12} by {s.due_on}"
                )


@training_group.command("evidence")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--today", metavar="YYYY-MM-DD", help="Standings as on this day.")
@click.option("--force", is_flag=True, help="Overwrite TARGET if it exists.")
@click.pass_context
@handle_errors
def evidence_command(ctx: click.Context, target: Path, today: str | None, force: bool) -> None:
    """Write the training evidence for an inspection as CSV or PDF (by TARGET's suffix).

    One row per completion (who, team, role, module version, language, date, score,
    expiry) and one for each required person never trained; the PDF adds the
    percentages in date overall, by team and by role.

    Example:

        ndoo training evidence training-evidence.pdf
    """
    count = evidence.write(
        database(ctx), get_settings(ctx), target, today=_day(today, "--today"), overwrite=force
    )
    click.echo(f"Wrote {target} ({count} rows).")


@training_group.command("remind")
@click.option("--today", metavar="YYYY-MM-DD", help="Send what is due on this day.")
@json_option
@click.pass_context
@handle_errors
def remind_command(ctx: click.Context, today: str | None, as_json: bool) -> None:
    """Send the renewal reminders due today: 90, 30 and 7 days before expiry, and on it.

    Safe to run from cron as often as you like: each reminder is sent once, even if a
    run is stopped midway.  Exits 1 when a reminder could not be sent (it is tried again
    on the next run).

    Example:

        ndoo training remind
    """
    settings = get_settings(ctx)
    db = database(ctx)
    run = renewals.remind(
        db, notifier_from_settings(settings, db), settings, today=_day(today, "--today")
    )
    if as_json:
        emit_json(run.as_dict())
    else:
        click.echo(run.summary())
    if run.failed:
        sys.exit(1)


@training_group.command("check")
@click.option(
    "--content",
    type=click.Path(file_okay=False, path_type=Path),
    help="A content folder to check instead of the one shipped.",
)
@click.pass_context
@handle_errors
def check_command(ctx: click.Context, content: Path | None) -> None:
    """Check the module's content and its Welsh and Polish translations.

    Example:

        ndoo training check
    """
    module = parse(content or default_folder())
    click.echo(
        f"{module.title} {module.version}: {len(module.sections)} sections, "
        f"{len(module.points)} learning points, {len(module.questions)} questions."
    )
    failed = False
    for language, name in translations.LANGUAGES.items():
        if language == translations.SOURCE:
            continue
        found = translations.problems(language, content)
        failed = failed or bool(found)
        click.echo(f"{name} ({language}): {'complete' if not found else f'{len(found)} problems'}")
        for problem in found[:10]:
            click.echo(f"  {problem.problem}: {problem.message[:70]!r}")
    if failed:
        sys.exit(1)


@training_group.command("translations")
@click.pass_context
@handle_errors
def translations_command(ctx: click.Context) -> None:
    """Bring the translation catalogues up to date with the content and the pages.

    New and changed English messages appear in each language's training.po for a
    translator; then run ndoo training check.

    Example:

        ndoo training translations
    """
    for language, missing in translations.update_catalogues().items():
        path = translations.catalogue_path(language)
        click.echo(f"{path}: {missing} messages to translate")
