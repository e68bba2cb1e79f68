"""The References page's labels in the text's author-year form: a Sphinx extension.

``_config.yml`` cites author-year in the text (``bibtex_reference_style: author_year``: "Groh et al.,
2021"); this extension (``sphinx.extra_extensions``) registers the pybtex formatting style
``authoryear`` (``bibtex_default_style``), pybtex's ``plain`` style with labels of the same form, so an
entry on the References page reads as it is cited. Two works of the same authors and year get
``2022a``, ``2022b`` in the order the style sorts them.
"""

from __future__ import annotations

import string
from collections import Counter

from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle

STYLE = "authoryear"


def _surname(person) -> str:
    return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as("text")


def author_year(entry) -> str:
    """``Groh et al., 2021``, ``Howard and Gugger, 2020`` or ``Satterthwaite, 1946`` for one entry."""
    people = list(entry.persons.get("author") or entry.persons.get("editor") or [])
    named = [p for p in people if _surname(p) != "others"]
    year = entry.fields.get("year", "n.d.")
    if not named:
        return f"Anonymous, {year}"
    if len(people) > 2 or len(named) < len(people):
        authors = f"{_surname(named[0])} et al."
    elif len(named) == 2:
        authors = f"{_surname(named[0])} and {_surname(named[1])}"
    else:
        authors = _surname(named[0])
    return f"{authors}, {year}"


class AuthorYearLabels(BaseLabelStyle):
    """Author-year labels, made unique with a letter after the year."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(e) for e in entries]
        counts, seen = Counter(labels), Counter()
        for label in labels:
            if counts[label] > 1:
                yield label + string.ascii_lowercase[seen[label]]
                seen[label] += 1
            else:
                yield label


class AuthorYearStyle(PlainStyle):
    """pybtex's ``plain`` formatting with :class:`AuthorYearLabels`."""

    default_label_style = AuthorYearLabels


def setup(app):
    """Register the ``authoryear`` style with pybtex (the Sphinx extension's entry point)."""
    import pybtex.plugin

    pybtex.plugin.register_plugin("pybtex.style.formatting", STYLE, AuthorYearStyle, force=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
