"""The consoles' message catalogues: English is the source language (the msgids in the templates and
code); another language is a `locales/<lang>/LC_MESSAGES/messages.po` file, read with Babel at start.

Add a language: `pybabel extract -F babel.cfg -o messages.pot src/smartborders/web` (the template),
`pybabel init -i messages.pot -d src/smartborders/web/locales -l de`, translate, restart. A message
with no translation is shown in English.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = Path(__file__).parent / "locales"
DEFAULT = "en"


class Catalogue:
    def __init__(self, lang: str, messages: dict[str, str], plurals: dict[str, tuple[str, ...]]) -> None:
        self.lang, self._messages, self._plurals = lang, messages, plurals

    def gettext(self, message: str) -> str:
        return self._messages.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        forms = self._plurals.get(singular)
        if forms:
            return forms[0 if n == 1 else min(1, len(forms) - 1)] or (singular if n == 1 else plural)
        return singular if n == 1 else plural


@cache
def catalogue(lang: str) -> Catalogue:
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not path.is_file():
        return Catalogue(DEFAULT, {}, {})
    with path.open("rb") as f:
        cat = read_po(f, locale=lang)
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for m in cat:
        if not m.id or m.fuzzy:
            continue
        if isinstance(m.id, tuple):
            plurals[m.id[0]] = tuple(m.string or ())
        elif m.string:
            messages[m.id] = str(m.string)
    return Catalogue(lang, messages, plurals)


def languages() -> list[str]:
    found = sorted(p.name for p in LOCALES.iterdir() if (p / "LC_MESSAGES" / "messages.po").is_file()) \
        if LOCALES.is_dir() else []
    return [DEFAULT, *[x for x in found if x != DEFAULT]]


def negotiate(accept_language: str | None, wanted: str | None = None) -> str:
    """The session's choice, else the best of the browser's Accept-Language we have, else English."""
    have = languages()
    if wanted in have:
        return str(wanted)
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        for candidate in (tag, tag.split("-")[0]):
            if candidate in have:
                return candidate
    return DEFAULT


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined (it is translated where it is shown)."""
    return message


def extract(out: Path) -> int:
    """Write the message template (.pot) of the consoles: `_("...")` and `{% trans %}` in the templates,
    `_(request, "...")` and `N_("...")` in the code. Answers how many messages."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import write_po

    root = Path(__file__).parent
    cat = Catalog(project="smartborders", charset="utf-8")
    runs = [
        ([("templates/**.html", "jinja2")], {"_": None, "gettext": None, "ngettext": (1, 2)},
         {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}),
        ([("**.py", "python")], {"_": (2,), "N_": None}, {}),
    ]
    for method_map, keywords, options in runs:
        for filename, lineno, message, comments, _context in extract_from_dir(
                str(root), method_map, options_map=options, keywords=keywords,
                strip_comment_tags=True):
            cat.add(message, None, [(filename, lineno)], auto_comments=comments)
    with out.open("wb") as f:
        write_po(f, cat, sort_output=True, omit_header=False)
    return len(cat)


if __name__ == "__main__":  # python -m smartborders.web.i18n: refresh locales/messages.pot
    print(extract(LOCALES / "messages.pot"), "messages in", LOCALES / "messages.pot")
