"""``ndoo demo``: the main job on the embedded default."""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType
from typing import Any

import click
import requests

from ndoo.cli.common import emit_json, get_settings, handle_errors, json_option
from ndoo.demo import (
    CheckDemo,
    DemoResult,
    DisclosuresDemo,
    StatsDemo,
    TrainingDemo,
    WebDemo,
    prepare_web_demo,
    run_apply_demo,
    run_check_demo,
    run_demo,
    run_disclosures_demo,
    run_stats_demo,
    run_training_demo,
)
from ndoo.localrun import LocalServices, local_services
from ndoo.web.app import create_app
from ndoo.web.server import running


@click.command("demo")
@click.option("--people", default=200_000, show_default=True, help="Synthetic people to create.")
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic population.")
@click.option("--reset", is_flag=True, help="Remove the SQLite register first and start again.")
@click.option(
    "--stay/--no-stay",
    default=None,
    help="Keep the web service, the MESH sandbox and the checking service running "
    "afterwards (default: when run from a terminal).",
)
@json_option
@click.pass_context
@handle_errors
def demo_command(
    ctx: click.Context, people: int, seed: int, reset: bool, stay: bool | None, as_json: bool
) -> None:
    """Build a register of synthetic England and check a cohort against it over MESH.

    Uses NDOO_DATABASE_URL (default: SQLite in NDOO_HOME). If the register already
    holds people it is only summarised; --reset starts again. Then a MESH sandbox and
    the checking service start locally, a cohort of 20,000 registered people is sent
    from mailbox NDOO_MESH_MAILBOX to X26HC065, and the cleaned list is cached.
    The demo organisation's record of processing is imported and each disclosure
    assessed against the national data opt-out policy. Finally the cached list is
    applied to the disclosure in scope, those people's hospital episodes
    (NDOO_HOME/demo-episodes.csv → demo-release.csv, with its manifest), and the
    statistics publication for the last 12 months is written to NDOO_HOME/publication.

    The web service runs too (NDOO_WEB_HOST:NDOO_WEB_PORT), with a demo staff account
    for each role and a synthetic person to try the citizen journey as; run from a
    terminal, everything keeps running until Ctrl-C.

    Example:

        ndoo demo --people 1000000 --reset
    """
    settings = get_settings(ctx)
    result = run_demo(settings, people=people, seed=seed, reset=reset)
    if stay is None:
        stay = sys.stdin.isatty() and not as_json
    web = prepare_web_demo(settings, seed=seed)
    # Synthetic NHS numbers are in the 9xx test range: the statistics keep them.
    app = create_app(settings.replace(stats_drop_test_numbers=False))
    with (
        local_services(settings) as services,
        running(app, host=str(settings.web_host), port=int(settings.web_port)) as url,
    ):
        check = run_check_demo(settings, seed=seed)
        disclosures = run_disclosures_demo(settings)
        released = run_apply_demo(settings, check.cohort_file, seed=seed)
        stats = run_stats_demo(settings)
        training = run_training_demo(settings)
        health = requests.get(f"{url}/healthz", timeout=10).json()
        if as_json:
            emit_json(
                {
                    **result.as_dict(),
                    "check": check.as_dict(),
                    "disclosures": disclosures.as_dict(),
                    "release": released.manifest,
                    "statistics": stats.as_dict(),
                    "training": training.as_dict(),
                    "web": {"url": url, "health": health, **web.as_dict()},
                }
            )
            return
        _print_register(result)
        _print_check(check, services.started_sandbox)
        _print_disclosures(disclosures)
        _print_release(released)
        _print_stats(stats)
        _print_web(url, web, str(settings.notify_backend))
        _print_training(url, training)
        if stay:
            _stay(services, url)


def _print_check(check: CheckDemo, started_sandbox: bool) -> None:
    request = check.answer.request
    entry = check.answer.cache_entry
    assert entry is not None
    click.echo("")
    sandbox = "sandbox started" if started_sandbox else "sandbox already running"
    click.echo(f"Check for National Data Opt-outs, over MESH ({sandbox}):")
    click.echo(f"  sent {request.filename} from {request.mailbox} to {request.recipient}")
    click.echo(f"  numbers checked            {entry.covered_count:>12,}")
    click.echo(f"  may be used (cleaned list) {entry.kept_count:>12,}")
    click.echo(f"  removed for opt-outs       {entry.covered_count - entry.kept_count:>12,}")
    click.echo(f"  cached as cohort {entry.cohort!r}; `ndoo cache list` shows it")


def _print_disclosures(demo: DisclosuresDemo) -> None:
    click.echo("")
    click.echo(
        f"Disclosure register ({demo.imported.file}: {len(demo.imported.added)} added, "
        f"{len(demo.imported.changed)} changed, {len(demo.imported.unchanged)} unchanged), "
        "assessed against the national data opt-out policy:"
    )
    width = max(len(s.entry.reference) for s in demo.standings)
    for standing in demo.standings:
        click.echo(f"  {standing.entry.reference:<{width}}  {standing.state}")
    click.echo("  `ndoo disclosures show REF` gives the reasons and the policy behind them")
    compliance = demo.compliance
    click.echo(
        f"Compliance programme: {compliance.state}; the technical solution is "
        f"{compliance.solution.verdict}; `ndoo compliance status` shows the steps"
    )


def _print_release(released: Any) -> None:
    counts = released.manifest["counts"]
    click.echo("")
    click.echo(f"Disclosure {released.manifest['disclosure']}, opt-outs applied (ndoo apply):")
    click.echo(f"  episodes in                {counts['rows_in']:>12,}")
    click.echo(f"  removed for opt-outs       {counts['rows_removed']:>12,}")
    click.echo(f"  released                   {counts['rows_out']:>12,}")
    click.echo(f"  manifest {released.manifest_path}")
    click.echo(f"  notice   {released.notice_path}")
    click.echo(f"  `ndoo apply verify {released.manifest_path}` re-checks it")


def _print_stats(stats: StatsDemo) -> None:
    rate = 100 * stats.opt_out / stats.list_size if stats.list_size else 0.0
    click.echo("")
    click.echo(
        f"Statistics publication for {stats.period_end:%B %Y} (ndoo stats publish), 12 months:"
    )
    click.echo(
        f"  opt-outs {stats.opt_out:,} of {stats.list_size:,} registered people ({rate:.2f}%)"
    )
    click.echo(f"  {len(stats.files)} files (CSV, Excel summary, charts) in {stats.folder}")


def _print_web(url: str, web: WebDemo, backend: str) -> None:
    click.echo("")
    click.echo(f"Web service: {url}/ (`ndoo serve` runs it on its own)")
    citizen = web.citizen
    click.echo(
        f"  citizen journey: {url}/your-choice as the synthetic {citizen['name']}, NHS number "
        f"{citizen['nhs_number']}, born {citizen['date_of_birth']}, postcode {citizen['postcode']}"
    )
    if backend == "outbox":
        click.echo(f"  their security code arrives in the demo outbox: {url}/outbox")
    click.echo(f"  staff console: {url}/console, password {web.password!r} for every account:")
    for role, username in web.staff.items():
        click.echo(f"    {username:<16} {role}")


def _print_training(url: str, training: TrainingDemo) -> None:
    click.echo("")
    click.echo(
        f"Staff training: {training.on_roster} staff on the demo roster, {training.passed} "
        f"trained; {training.percent_in_date:.1f}% of required staff in date"
    )
    click.echo(
        f"  take the module at {url}/training as {training.learner} (the sign-in code "
        "arrives in the demo outbox), in English, Welsh or Polish"
    )
    click.echo(f"  the dashboard, roster and evidence: {url}/console/training (demo.iglead)")
    click.echo("  `ndoo training status` prints it; `ndoo training remind` sends renewals")


def _stay(services: LocalServices, url: str) -> None:
    click.echo("")
    click.echo(
        f"The web service ({url}), the MESH sandbox ({services.mesh_url}) and the checking "
        "service are running."
    )
    click.echo("In another terminal, try a round trip of your own:")
    click.echo("  .venv/bin/ndoo check run ndoo-data/demo-cohort.txt --disclosure DEMO-001")
    click.echo("  .venv/bin/ndoo check status")
    click.echo(f"The service's log: {services.worker_log}. Press Ctrl-C to stop.")

    def stop(signum: int, frame: FrameType | None) -> None:
        for each in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(each, signal.SIG_IGN)  # a second signal must not cut the clean-up
        raise KeyboardInterrupt  # so the sandbox and the service are stopped too

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        while services.worker_running():
            time.sleep(1)
    except KeyboardInterrupt:
        for each in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(each, signal.SIG_IGN)
        click.echo("Stopping.")


def _print_register(result: DemoResult) -> None:
    s = result.summary
    click.echo(f"Register: {result.database}")
    if result.loaded:
        ld = result.loaded
        click.echo(
            f"Loaded synthetic England: {ld.people:,} people at {ld.practices:,} GP practices, "
            f"{ld.events:,} choice events"
        )
    else:
        click.echo("The register already holds a population (use --reset to start again).")
    click.echo(f"As of {s.as_of:%d %B %Y}:")
    click.echo(f"  living people registered   {s.people:>12,}")
    click.echo(f"  with a national opt-out    {s.opted_out:>12,}  ({s.rate:.2f}%)")
    click.echo(f"  deceased, opt-out kept     {s.deceased_opted_out:>12,}")
    click.echo("")
    click.echo(f"  {'NHS England region':<28} {'people':>10} {'opted out':>10} {'rate':>7}")
    for region in s.regions:
        click.echo(
            f"  {region.name:<28} {region.people:>10,} {region.opted_out:>10,} {region.rate:>6.2f}%"
        )
    click.echo("")
    click.echo(result.audit.describe())
