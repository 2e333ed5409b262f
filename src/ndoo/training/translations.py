"""The module in other languages, through gettext catalogues (Babel).

Staff may take the module in Welsh or Polish; every record and report stays in English,
because what is stored is ids (learning points, question variants, options), never
text.  The translatable messages are:

- the content, cut into Markdown *blocks* (text split on blank lines), so a translator
  sees whole paragraphs and lists, and a change to one paragraph asks for that one
  again;
- the words of the learner's pages: ``_("...")`` in ``templates/training/`` and
  ``N_("...")`` in the learner's routes.

Each language has one catalogue, ``data/training/locale/<lang>/LC_MESSAGES/training.po``.
``ndoo training translations`` brings the catalogues up to date with the content and
pages (new messages appear untranslated, changed ones are marked fuzzy) and lists
what is missing; a test fails while any message of a shipped language is missing,
fuzzy, or loses a placeholder, a list item or a link of its English original.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po, write_po
from jinja2.ext import babel_extract
from markdown_it import MarkdownIt
from markupsafe import Markup

from ndoo.training.content import Module, default_folder, load

#: The languages the module is shipped in: code, and the language's own name.
LANGUAGES = {"en": "English", "cy": "Cymraeg", "pl": "Polski"}
SOURCE = "en"
DOMAIN = "training"

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_MARKDOWN = MarkdownIt("commonmark", {"html": False})
_PACKAGE = Path(__file__).resolve().parent.parent


def blocks(text: str) -> list[str]:
    """``text`` cut into Markdown blocks: the units a translator translates."""
    return [b.strip() for b in _BLANK_LINE.split(text.strip()) if b.strip()]


def N_(message: str) -> str:
    """Mark ``message`` for translation where it is written; it is translated when shown."""
    return message


def content_messages(module: Module) -> Iterator[tuple[str, str]]:
    """Every translatable message of ``module``, with where it comes from (a path such
    as ``question/<id>/stem``, which the catalogue shows the translator)."""
    yield module.title, "module/title"
    yield from ((b, "module/summary") for b in blocks(module.summary))
    for section in module.sections:
        where = f"section/{section.id}"
        yield section.title, f"{where}/title"
        yield from ((b, f"{where}/body") for b in blocks(section.body))
        yield section.scenario_title, f"{where}/scenario_title"
        yield from ((b, f"{where}/scenario") for b in blocks(section.scenario))
    for point in module.points.values():
        yield point.summary, f"point/{point.id}/summary"
        yield from ((b, f"point/{point.id}/lesson") for b in blocks(point.lesson))
    for question in module.questions.values():
        yield from ((b, f"question/{question.id}/stem") for b in blocks(question.stem))
        for option in question.options:
            yield option.text, f"question/{question.id}/{option.id}"
    yield from ((b, "key-points") for b in blocks(module.key_points))


def _page_files() -> list[Path]:
    templates = sorted((_PACKAGE / "web" / "templates" / "training").glob("*.html"))
    routes = sorted((_PACKAGE / "web" / "routes").glob("training*.py"))
    return templates + routes


def page_messages() -> Iterator[tuple[str, tuple[str, int]]]:
    """The words of the learner's pages: ``_()`` in templates, ``N_()`` in routes."""
    for path in _page_files():
        relative = path.relative_to(_PACKAGE).as_posix()
        with path.open("rb") as handle:
            if path.suffix == ".html":
                found = extract(cast(Any, babel_extract), handle, keywords={"_": None})
            else:
                found = extract("python", handle, keywords={"N_": None})
            for line, message, _comments, _context in found:
                if isinstance(message, str):
                    yield message, (relative, line)


def template_catalogue(module: Module | None = None) -> Catalog:
    """Every message to translate (the POT), from the content and the learner's pages."""
    catalogue = Catalog(project="ndoo", domain=DOMAIN, charset="utf-8", fuzzy=False)
    for message, where in content_messages(module or load()):
        catalogue.add(message, locations=cast(Any, [(where, None)]))  # no line: data
    for message, (path, line) in page_messages():
        catalogue.add(message, locations=[(path, line)])
    return catalogue


def catalogue_path(language: str, folder: Path | None = None) -> Path:
    return (folder or default_folder()) / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(language: str, folder: Path | None = None) -> Catalog:
    path = catalogue_path(language, folder)
    if not path.is_file():
        return Catalog(
            locale=language,
            domain=DOMAIN,
            charset="utf-8",
            project="ndoo",
            version="training module",
            copyright_holder="ndoo contributors",
            msgid_bugs_address="https://github.com/ndoo/ndoo/issues",
            last_translator="ndoo contributors",
            language_team=f"{LANGUAGES.get(language, language)} <{language}>",
            header_comment=(
                f"# The national data opt-out training module in {LANGUAGES.get(language)}.\n"
                "# This file is distributed under the same licence as ndoo (MIT).\n"
                "# Bring it up to date with: ndoo training translations"
            ),
            fuzzy=False,
        )
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN, charset="utf-8")


def write_catalogue(catalogue: Catalog, language: str, folder: Path | None = None) -> Path:
    path = catalogue_path(language, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalogue, width=0, omit_header=False, sort_output=False)
    path.write_bytes(buffer.getvalue())
    return path


@dataclass(frozen=True)
class Problem:
    """A message a catalogue does not translate well enough to ship."""

    language: str
    message: str
    problem: str


_PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)s")
_LINK = re.compile(
    r"\]\([^)\s]+\)|https?://[^\s)]+|\b[a-z0-9.-]+\.(?:uk|net|org|com)(?:/[\w/-]*)?"
    r"|\b0\d{3} \d{3} \d{4}\b"  # addresses and telephone numbers
)
_ITEM = re.compile(r"^(?:[-*]|\d+\.) ", re.MULTILINE)


def _shape(text: str) -> tuple[list[str], list[str], int, int]:
    return (
        sorted(_PLACEHOLDER.findall(text)),
        sorted(m.group(0) for m in _LINK.finditer(text)),
        len(_ITEM.findall(text)),
        text.count("**"),
    )


def problems(language: str, folder: Path | None = None) -> list[Problem]:
    """What keeps ``language``'s catalogue from being complete: messages missing,
    fuzzy, or without a placeholder, link, list item or bold span of the English."""
    wanted = template_catalogue(load(folder) if folder else None)
    have = read_catalogue(language, folder)
    found = []
    for message in wanted:
        if not message.id:
            continue
        translated = have.get(message.id)
        text = translated.string if translated is not None else ""
        if not isinstance(text, str) or not text.strip():
            found.append(Problem(language, str(message.id), "not translated"))
        elif translated is not None and translated.fuzzy:
            found.append(Problem(language, str(message.id), "marked fuzzy: check it"))
        elif _shape(str(message.id)) != _shape(text):
            found.append(
                Problem(
                    language,
                    str(message.id),
                    "the translation lost or added a placeholder, link, list item or bold span",
                )
            )
    return found


def update_catalogues(
    languages: Iterable[str] | None = None, folder: Path | None = None
) -> dict[str, int]:
    """Bring each language's catalogue up to date with the content and pages; how many
    of its messages now lack a translation."""
    template = template_catalogue(load(folder) if folder else None)
    missing = {}
    for language in languages or [code for code in LANGUAGES if code != SOURCE]:
        catalogue = read_catalogue(language, folder)
        catalogue.update(template, no_fuzzy_matching=False)
        catalogue.obsolete.clear()
        write_catalogue(catalogue, language, folder)
        missing[language] = sum(1 for m in catalogue if m.id and (not m.string or m.fuzzy))
    return missing


class Translator:
    """Shows English content and page words in one language."""

    def __init__(self, language: str, catalogue: Catalog | None = None) -> None:
        self.language = language
        self._messages: dict[str, str] = {}
        if catalogue is not None:
            for message in catalogue:
                text = message.string
                if message.id and isinstance(text, str) and text and not message.fuzzy:
                    self._messages[str(message.id)] = text

    def gettext(self, message: str) -> str:
        """``message`` in this language (English when the catalogue lacks it)."""
        return self._messages.get(message, message)

    def text(self, text: str) -> str:
        """Content text, translated block by block."""
        return "\n\n".join(self.gettext(b) for b in blocks(text))

    def markdown(self, text: str) -> Markup:
        """Content Markdown, translated block by block, as HTML (raw HTML is escaped)."""
        return Markup(_MARKDOWN.render(self.text(text)))


@cache
def translator(language: str) -> Translator:
    """The translator for ``language``; English (or an unknown code) shows the source."""
    if language not in LANGUAGES or language == SOURCE:
        return Translator(SOURCE)
    return Translator(language, read_catalogue(language))


def language_or_default(code: str | None) -> str:
    """``code`` if the module is shipped in it, else English."""
    return code if code in LANGUAGES else SOURCE
