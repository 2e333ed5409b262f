"""The ``ndoo`` command."""

from __future__ import annotations

import click

from ndoo import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ndoo")
def cli() -> None:
    """ndoo, the National Data Opt-out: register, checking service, uphold, statistics.

    Settings come from NDOO_* environment variables or a .env file; see
    `ndoo settings`.

    Example:

        ndoo demo
    """


def _register_commands() -> None:
    from ndoo.cli import commands

    for command in commands.ALL:
        cli.add_command(command)


_register_commands()


def main() -> None:
    cli(prog_name="ndoo")


if __name__ == "__main__":
    main()
