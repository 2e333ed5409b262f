"""Write docs/cli.md and docs/settings.md from the code (``make docs``)."""

from __future__ import annotations

from pathlib import Path

from ndoo.cli.reference import cli_markdown, settings_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    (DOCS / "cli.md").write_text(cli_markdown(), encoding="utf-8")
    (DOCS / "settings.md").write_text(settings_markdown(), encoding="utf-8")
    print(f"wrote {DOCS / 'cli.md'} and {DOCS / 'settings.md'}")


if __name__ == "__main__":
    main()
