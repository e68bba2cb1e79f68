"""The registry of every value a chapter glues: its name, its unit, and whether it is glued as a number.

``synthaug_utils/resources/glue_keys.yml`` lists, per chapter, each glued name (or a pattern ending in
``*`` for one value per label, method or arm) with its unit (:data:`UNITS`) and ``numeric``: true
when the chapter glues the raw number and the page formats it (``{glue:text}`name:.1f```), false
when it glues text. The reference check (:mod:`~synthaug_utils.presentation.reference`) reads the
unit of a raw number to pick its tolerance, and the tests check that every glued value of a built
book is registered and every registered one is glued.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

import yaml

from synthaug_utils.core import chapters
from synthaug_utils.core.errors import UserFacingError

REGISTRY_FILE = "glue_keys.yml"  # in synthaug_utils/resources

# unit -> what a value of it is. A raw "%" value is a proportion (0.106 shows as 10.6% with ``:.1%``);
# a raw "pp" value is in percentage points (4.1 shows as +4.1 pp with ``:+.1f`` and " pp" after it).
UNITS: dict[str, str] = {
    "count": "an integer: images, labels, runs, ...",
    "number": "a decimal without a unit of its own (a distance, a ratio, a correlation)",
    "%": "a percentage (raw: a proportion of 1)",
    "pp": "a difference of percentages, in percentage points",
    "p": "a p-value",
    "s": "seconds",
    "images/s": "images per second",
    "text": "words, or numbers set in words the chapter wrote",
    "markdown": "a block of Markdown shown with {glue:md} (not a value the reference compares)",
    "table": "a table or figure shown with {glue:figure} or {glue:} (not a value the reference compares)",
}

EVERY_CHAPTER = "*"  # the registry's section of names every chapter glues


@dataclass(frozen=True)
class GlueKey:
    chapter: str
    name: str  # a name, or a pattern ending in "*"
    unit: str
    numeric: bool

    @property
    def is_pattern(self) -> bool:
        return self.name.endswith("*")


@functools.cache
def registry() -> dict[str, dict[str, GlueKey]]:
    """``{chapter: {name: GlueKey}}`` from :data:`REGISTRY_FILE`; a malformed entry raises UserFacingError."""
    text = resources.files("synthaug_utils.resources").joinpath(REGISTRY_FILE).read_text()
    raw = yaml.safe_load(text) or {}
    out: dict[str, dict[str, GlueKey]] = {}
    unknown = set(raw) - {EVERY_CHAPTER, *chapters.notebook_ids()}
    if unknown:
        raise UserFacingError(f"{REGISTRY_FILE}: no chapter {sorted(unknown)}; chapters: {chapters.notebook_ids()}")
    for chapter, names in raw.items():
        out[chapter] = {}
        for name, spec in (names or {}).items():
            spec = spec or {}
            unit, numeric = spec.get("unit"), spec.get("numeric")
            if unit not in UNITS or not isinstance(numeric, bool) or set(spec) - {"unit", "numeric"}:
                raise UserFacingError(
                    f"{REGISTRY_FILE}: {chapter}:{name} needs unit (one of {sorted(UNITS)}) and numeric (true/false); "
                    f"got {spec}"
                )
            out[chapter][str(name)] = GlueKey(chapter, str(name), unit, numeric)
    return out


def lookup(key: str) -> GlueKey | None:
    """The entry of ``"<chapter>:<name>"``: its exact name, else the first pattern it matches, else None."""
    chapter, _, name = key.partition(":")
    entries = {**registry().get(EVERY_CHAPTER, {}), **registry().get(chapter, {})}
    if name in entries:
        return entries[name]
    return next((e for n, e in entries.items() if e.is_pattern and fnmatch.fnmatchcase(name, n)), None)


def chapter_keys(chapter: str) -> dict[str, GlueKey]:
    """The registered glue names of ``chapter``, those every chapter glues included."""
    return {**registry().get(EVERY_CHAPTER, {}), **registry().get(chapter, {})}


def unregistered(keys: Iterable[str]) -> list[str]:
    """The glued ``"<chapter>:<name>"`` keys that the registry lacks."""
    return sorted(k for k in keys if lookup(k) is None)


def unglued(keys: Iterable[str]) -> list[str]:
    """The registered names of the chapters in ``keys`` that none of ``keys`` glues (a pattern: none matches it)."""
    keys = set(keys)
    chapters = {k.split(":", 1)[0] for k in keys}
    missing = []
    for chapter in sorted(chapters):
        names = {k.split(":", 1)[1] for k in keys if k.startswith(chapter + ":")}
        for name, entry in chapter_keys(chapter).items():
            found = any(fnmatch.fnmatchcase(n, name) for n in names) if entry.is_pattern else name in names
            if not found:
                missing.append(f"{chapter}:{name}")
    return missing


def not_numbers(values: Mapping[str, str]) -> list[str]:
    """Glued values (as :func:`~synthaug_utils.presentation.reference.glued_values` reads them) of
    ``numeric`` keys that are not bare numbers: a number the registry says is glued raw was glued as text."""
    return sorted(k for k, text in values.items() if (e := lookup(k)) is not None and e.numeric and not is_number(text))


def is_number(text: str) -> bool:
    """Whether ``text`` is a bare Python int or float literal (how a raw glued number reads)."""
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return text.strip() == text and "," not in text and text.lower() not in ("nan", "inf", "-inf", "infinity")
