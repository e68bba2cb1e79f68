"""A reference of every value glued into a built book, and how a build compares with it.

A book's numbers are glued (``glue_values``) into its executed notebooks: each glue is a
``display_data`` output whose metadata ``scrapbook.name`` names it. :func:`glued_values` reads
them all from ``<root>/book/*.ipynb``, keyed ``"<chapter>:<name>"`` (the chapter's id, e.g.
``<chapter>:gen_steps``) with the text the book shows. :func:`write_reference` stores them as a committed JSON file
(``benchmarks/reference/<profile>.json``) with the git commit, the CPU, torch's version and thread
count and the date; :func:`compare` sets a build beside it, and :func:`summary_line` is the one
line that chapter 08 and ``synthaug book`` print.

Timings (durations, throughputs, thread counts and what is derived from them) change from machine
to machine and run to run; :func:`is_timing` marks them by name (:data:`TIMING_PATTERNS`), and they
are listed apart, never counted as matches or mismatches. The tolerance rule for the rest is
:func:`match_kind`.

Chapter 08 also glues the front page's reproducibility statement (:func:`statement_facts`): the
commit, profile, package versions, CPU, GPU and kernels, when the chapters ran, and the counts of
the comparison with the reference.
"""

from __future__ import annotations

import ast
import datetime as _dt
import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from synthaug_utils.analysis.stats import se_from_interval, two_sided_z
from synthaug_utils.core import profiles
from synthaug_utils.core.chapters import REPORT
from synthaug_utils.core.errors import UserFacingError
from synthaug_utils.core.machine import git_commit
from synthaug_utils.core.paths import project_root
from synthaug_utils.presentation import glue_registry
from synthaug_utils.presentation.environment import (
    chapter_kernels,
    cpu_label,
    execution_window,
    gpu_label,
    machine,
    machine_label,
    package_versions,
)

REFERENCE_FORMAT = 1

REFERENCE_DIR = "benchmarks/reference"  # relative to the repository root; one <profile>.json per profile

# Glue names (fnmatch patterns) whose values are timings: durations, throughputs, speed ratios
# and the thread counts they were measured with. A new timing glue must match one of these
# (tests/test_reference.py checks every glued name that reads like a timing, and every glued value
# that carries a unit of time).
TIMING_PATTERNS: tuple[str, ...] = (
    # 02: images/s per method, DreamBooth seconds, threads; 08: the paper grid's cost from the benchmark table
    "cost_*",
    "*seconds*",  # e.g. 07 e_seconds
    "*_ips",  # images per second (07 e_ips)
    "*time*",  # e.g. 03 mode_time_ratio (faithful/fast wall-clock ratio)
    "*throughput*",
    "*threads*",
    "*minutes*",
    "*hours*",
    "*_per_s",
)

# Glue names that describe the comparison with the reference itself: never part of a reference.
SELF_PATTERNS: tuple[str, ...] = ("repro_*",)

# Glue names whose text holds a time that is not this build's timing: the demo generator's
# pretraining time, read from the shipped weights' metadata (the same on every build of a commit).
RECORDED_TIMES: tuple[str, ...] = ("generator_sentence",)

# Words in a glue name that say it is (or derives from) a timing; such names must be timings.
TIMING_WORDS = re.compile(r"(second|time|ips$|throughput|thread|minute|hour|per_s$|speed|wall|cost_)")

# A unit of time (or of a rate per time) after a number in a glued text.
TIME_UNIT = re.compile(r"\d\s*(ms|s|sec|min|minutes?|h|hours?|days?)\b|/\s*s\b|CPU-hours|GPU-hours", re.IGNORECASE)

# The tolerances (see :func:`match_kind`; values and why: the settings source's THRESHOLDS).
PERCENT_TOLERANCE = profiles.threshold("PERCENT_TOLERANCE")  # percentages and pp: at least this, or one SE
Z_TOLERANCE = profiles.threshold("Z_TOLERANCE")  # p-values: their two-sided normal quantiles within this
RELATIVE_TOLERANCE = profiles.threshold("RELATIVE_TOLERANCE")  # other decimals: this share, or one last digit

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])", re.IGNORECASE)


# ----------------------------------------------------------------------------- reading a book
def glued_values(book_dir: str | Path, exclude_chapters: Iterable[str] = ()) -> dict[str, str]:
    """Every glued ``name -> text`` of the executed notebooks in ``book_dir``, keyed ``"<chapter>:<name>"``.

    The text is what ``{glue:text}`` shows: a glued string without its quotes, any other value's
    plain-text form. Names matching :data:`SELF_PATTERNS` are left out, and so are glued tables and
    figures (outputs with an HTML or image form). ``exclude_chapters``:
    notebook stems to skip (chapter 08 skips itself: it is still executing).
    """
    book_dir = Path(book_dir)
    if not book_dir.is_dir():
        raise UserFacingError(f"no built book at {book_dir} (expected executed chapters NN_*.ipynb there)")
    skip = set(exclude_chapters)
    values: dict[str, str] = {}
    for path in sorted(book_dir.glob("[0-9][0-9]_*.ipynb")):
        if path.stem in skip:
            continue
        try:
            nb = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise UserFacingError(f"cannot read executed notebook {path}: {exc}") from exc
        for cell in nb.get("cells", []):
            for output in cell.get("outputs", []):
                book = (output.get("metadata") or {}).get("scrapbook")
                if not book or any(fnmatch.fnmatchcase(book["name"], p) for p in SELF_PATTERNS):
                    continue
                data, prefix = output.get("data", {}), book.get("mime_prefix", "")
                if any(mime != prefix + "text/plain" for mime in data):
                    # a glued table or figure (its plain text is an object's repr); its numbers are glued on their own
                    continue
                text = data.get(prefix + "text/plain")
                if text is not None:
                    values[f"{path.stem}:{book['name']}"] = _shown_text(
                        "".join(text) if isinstance(text, list) else text
                    )
    return values


def _shown_text(plain: str) -> str:
    """A glued value's text as the book shows it: a string literal without its quotes."""
    try:
        value = ast.literal_eval(plain)
    except (ValueError, SyntaxError):
        return plain
    return value if isinstance(value, str) else plain


def is_self(key: str) -> bool:
    """Whether ``"<chapter>:<name>"`` (or a bare name) describes the comparison itself (:data:`SELF_PATTERNS`)."""
    return any(fnmatch.fnmatchcase(key.split(":", 1)[-1], p) for p in SELF_PATTERNS)


def is_timing(key: str) -> bool:
    """Whether the glued value ``"<chapter>:<name>"`` (or a bare name) is a timing (:data:`TIMING_PATTERNS`)."""
    name = key.split(":", 1)[-1]
    return any(fnmatch.fnmatchcase(name, p) for p in TIMING_PATTERNS)


def unmarked_timings(values: Mapping[str, str]) -> list[str]:
    """Keys that read like timings (a timing word in the name, or a unit of time in the text) but
    are not marked by :func:`is_timing`: each must get a pattern in :data:`TIMING_PATTERNS`."""
    return sorted(
        k
        for k, text in values.items()
        if not is_timing(k)
        and k.split(":", 1)[-1] not in RECORDED_TIMES
        and (TIMING_WORDS.search(k.split(":", 1)[-1]) or TIME_UNIT.search(str(text)))
    )


# ----------------------------------------------------------------------------- the reference file
def reference_path(profile: str, root: Path | None = None) -> Path:
    """Where the committed reference of ``profile`` lives: ``<repo>/benchmarks/reference/<profile>.json``."""
    root = root or project_root() or Path.cwd()
    return root / REFERENCE_DIR / f"{profile}.json"


def write_reference(book_dir: str | Path, path: str | Path, profile: str | None = None) -> dict[str, Any]:
    """Write every glued value of the built book in ``book_dir`` to ``path`` (JSON) with the commit,
    the machine (:func:`machine`) and the date; timings are listed apart. Returns what was written."""
    from synthaug_utils.core.files import atomic_write_text

    values = glued_values(book_dir)
    if not values:
        raise UserFacingError(f"{book_dir} holds no glued values (is it a built book's book/ folder?)")
    profiles = sorted({p for p in (_notebook_profile(f) for f in Path(book_dir).glob("[0-9][0-9]_*.ipynb")) if p})
    if profile is None and len(profiles) == 1:
        profile = profiles[0]
    if profile is None or (profiles and profiles != [profile]):
        raise UserFacingError(
            f"the chapters in {book_dir} were built with profile(s) {profiles}; name one with --profile"
        )
    reference = {
        "format": REFERENCE_FORMAT,
        "profile": profile,
        "commit": git_commit(),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "values": {k: v for k, v in sorted(values.items()) if not is_timing(k)},
        "timings": {k: v for k, v in sorted(values.items()) if is_timing(k)},
    }
    atomic_write_text(Path(path), json.dumps(reference, indent=1, sort_keys=False) + "\n")
    return reference


def _notebook_profile(path: Path) -> str | None:
    try:
        return json.loads(path.read_text()).get("metadata", {}).get("synthaug", {}).get("profile")
    except (OSError, ValueError):
        return None


def load_reference(path: str | Path) -> dict[str, Any] | None:
    """The reference at ``path``, or None when there is none; a malformed file raises UserFacingError."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        ref = json.loads(path.read_text())
    except ValueError as exc:
        raise UserFacingError(f"reference {path} is not valid JSON: {exc}") from exc
    if not isinstance(ref, dict) or ref.get("format") != REFERENCE_FORMAT or not isinstance(ref.get("values"), dict):
        raise UserFacingError(
            f"reference {path} is not a format-{REFERENCE_FORMAT} reference; rewrite it with "
            "`synthaug book --write-reference`"
        )
    return ref


# ----------------------------------------------------------------------------- the tolerance rule
def _numbers(text: str) -> tuple[str, list[tuple[str, str, int]]]:
    """(text with every number replaced by '#', [(number as printed, unit after it: '%', 'pp' or '', start)])."""
    found = []

    def sub(m: re.Match) -> str:
        rest = text[m.end() : m.end() + 3]
        unit = "%" if rest.startswith("%") else "pp" if re.match(r"\s?pp\b", rest) else ""
        found.append((m.group(0), unit, m.start()))
        return "#"

    return NUMBER.sub(sub, text), found


_PCT = r"([-+]?\d+(?:\.\d+)?) ?(?:pp|%)"
# "x pp (95% CI a pp to b pp": an estimate with its interval; "a pp to b pp": an interval alone.
ESTIMATE_WITH_CI = re.compile(_PCT + r" \(95% CI " + _PCT + " to " + _PCT)
INTERVAL = re.compile(_PCT + " to " + _PCT)
# A p-value inside a longer text ("BH p = 0.120"); a value whose name ends in "_p" is one too.
P_IN_TEXT = re.compile(r"\bp = $")


def standard_errors(text: str) -> tuple[dict[int, float], list[tuple[int, float, float]]]:
    """Standard errors (pp) of the percentages in ``text``, read off the 95% intervals printed with them
    (:func:`~synthaug_utils.analysis.stats.se_from_interval`): ({start of each number of an
    estimate-with-interval or interval alone: its standard error}, [(end, estimate, standard error) of
    each estimate printed with its interval]), in the order they appear."""
    by_start, tested = {}, []
    for pattern in (ESTIMATE_WITH_CI, INTERVAL):
        for m in pattern.finditer(text):
            se = abs(se_from_interval(*(float(g) for g in m.groups()[-2:])))
            if pattern is ESTIMATE_WITH_CI:
                tested.append((m.end(), float(m.group(1)), se))
            for i in range(1, len(m.groups()) + 1):
                by_start.setdefault(m.start(i), se)
    return by_start, tested


def _value(printed: str) -> float:
    return float(printed.replace(",", ""))


def p_tolerance(p_ref: float, estimate: float | None, se: float | None) -> float:
    """How far a p-value's normal quantile may move: as far as a one-standard-error move of its estimate
    moves it, ``se * z / |estimate|`` (the test's own standard error is ``|estimate| / z``; the primary
    analysis prints its interval from the same standard error, on a t rather than a normal scale),
    and at least :data:`Z_TOLERANCE`. Without a printed estimate and interval (or with an
    estimate too close to zero to divide by), :data:`Z_TOLERANCE`."""
    z = two_sided_z(p_ref)
    if estimate is None or se is None or abs(estimate) < 0.1 or z < 0.5:
        return Z_TOLERANCE
    return max(Z_TOLERANCE, se * z / abs(estimate))


def _number_within(
    ref: str, new: str, unit: str, p_value: bool, se: float | None = None, estimate: float | None = None
) -> bool:
    """One printed number pair under the tolerance rule of :func:`match_kind` (``se``: the reference
    number's standard error in pp, where its interval is known; for a p-value, ``estimate`` (pp) and
    ``se`` are those of the estimate it tests)."""
    a, b = _value(ref), _value(new)
    if p_value:
        return (
            0 <= min(a, b)
            and max(a, b) <= 1
            and abs(two_sided_z(a) - two_sided_z(b)) <= p_tolerance(a, estimate, se) + 1e-9
        )
    if not ("." in ref or "e" in ref.lower()) and not unit:
        return a == b  # a count or size: exact
    if unit:
        return abs(a - b) <= max(PERCENT_TOLERANCE, se or 0.0) + 1e-9
    return abs(a - b) <= max(_last_place(ref), RELATIVE_TOLERANCE * abs(a)) + 1e-12


def _last_place(printed: str) -> float:
    """One unit in the last printed digit (``0.530`` -> 0.001, ``3.37e-04`` -> 1e-06, ``27.2`` -> 0.1)."""
    mantissa, _, exponent = printed.lower().partition("e")
    decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
    return 10.0 ** (int(exponent or 0) - decimals)


def match_kind(key: str, reference: str, build: str, interval: str | None = None, estimate: float | None = None) -> str:
    """``'exact'``, ``'within tolerance'`` or ``'differs'`` for one glued value.

    Exact: the same text. Within tolerance: the same words, and every number in the same place
    within its tolerance, which depends on what it is:

    * counts and sizes (integers without a unit): exact. So are words: a verdict, a method's name;
    * percentages and percentage points (``%``, ``pp``): within one standard error of the estimate,
      and at least :data:`PERCENT_TOLERANCE`. The standard error is read off the 95% interval
      printed with the number (``+4.1 pp (95% CI -0.3 pp to +8.3 pp ...``), or off ``interval``: the
      reference text of the value's own interval glued beside it (``f5_34_ci`` for ``f5_34_gain``;
      see :func:`interval_key`);
    * p-values (a value whose name ends in ``_p``, or a number after ``p = ``): their two-sided
      normal quantiles as far apart as a one-standard-error move of the estimate they test would put
      them (:func:`p_tolerance`; the estimate and its interval printed just before the p-value, or
      glued beside it as ``<stem>_gain`` and ``<stem>_ci``), and at least :data:`Z_TOLERANCE`.
      Whether a test is significant is counted elsewhere, and counts are exact;
    * picks (``highlights.tied_with_best``: the estimates within one standard error of the largest,
      "in-then-outpaint or inpaint (within one standard error)"): they agree when both name at least
      one estimate in common, i.e. an estimate is among the largest, within noise, in both;
    * any other decimal: within :data:`RELATIVE_TOLERANCE` or one unit in its last printed digit.

    Why one standard error: another CPU kernel set (or thread count) changes the generator's float
    output by ~4e-6, which moves 0.01-0.03% of the generated pixels by one grey level
    (benchmarks/kernel_divergence.py); classifiers trained on those images then differ by a few test
    images, as they would with another seed. A value that moves by less than its own standard error
    says what the reference says; the share that match exactly is reported beside it.
    """
    if reference == build:
        return "exact"
    if TIE.search(reference) or TIE.search(build):  # picks: agree when both name one estimate in common
        return "within tolerance" if picks(reference) & picks(build) else "differs"
    entry = glue_registry.lookup(key)
    if entry is not None and entry.numeric and glue_registry.is_number(reference) and glue_registry.is_number(build):
        own_se = next(iter(standard_errors(interval)[0].values()), None) if interval else None
        return "within tolerance" if raw_within(entry.unit, reference, build, own_se, estimate) else "differs"
    template_ref, numbers_ref = _numbers(reference)
    template_new, numbers_new = _numbers(build)
    if template_ref != template_new or len(numbers_ref) != len(numbers_new):
        return "differs"
    by_start, tested = standard_errors(reference)
    own_se = next(iter(standard_errors(interval)[0].values()), None) if interval else None
    whole_p = key.split(":", 1)[-1].endswith("_p")
    for (a, unit, start), (b, unit_b, _) in zip(numbers_ref, numbers_new):
        p_in_text = bool(P_IN_TEXT.search(reference[max(0, start - 4) : start]))
        se, est = by_start.get(start, own_se), None
        if p_in_text:  # the estimate whose interval ends just before this p-value
            near = [(e, v, sd) for e, v, sd in tested if 0 <= start - e <= 20]
            est, se = (near[-1][1], near[-1][2]) if near else (None, None)
        elif whole_p:
            est = estimate
        if unit != unit_b or not _number_within(a, b, unit, whole_p or p_in_text, se, est):
            return "differs"
    return "within tolerance"


def raw_within(unit: str, reference: str, build: str, se: float | None = None, estimate: float | None = None) -> bool:
    """A number glued raw (the registry's ``numeric`` keys) under the tolerance of its registered unit:
    counts exact; ``%`` (a proportion) and ``pp`` within one standard error (pp) and at least
    :data:`PERCENT_TOLERANCE`; p-values as :func:`p_tolerance` says; any other number within
    :data:`RELATIVE_TOLERANCE`. A raw number carries every digit, so there is no printed last digit to allow."""
    a, b = float(reference), float(build)
    if unit == "count":
        return a == b
    if unit in ("%", "pp"):
        scale = 100.0 if unit == "%" else 1.0
        return abs(a - b) * scale <= max(PERCENT_TOLERANCE, se or 0.0) + 1e-9
    if unit == "p":
        return (
            0 <= min(a, b)
            and max(a, b) <= 1
            and abs(two_sided_z(a) - two_sided_z(b)) <= p_tolerance(a, estimate, se) + 1e-9
        )
    return abs(a - b) <= RELATIVE_TOLERANCE * abs(a) + 1e-12


# A pick among estimates (highlights.tied_with_best): "inpaint", or "in-then-outpaint or inpaint (within
# one standard error)" when several are within one standard error of the largest.
TIE = re.compile(r" \(within one standard error\)$")


def picks(text: str) -> set[str]:
    """The names of a pick's text: ``"2, 4 or 8 (within one standard error)"`` -> {"2", "4", "8"}."""
    names = TIE.sub("", text)
    return {part.strip() for chunk in names.split(", ") for part in chunk.split(" or ") if part.strip()}


def _tested_estimate(key: str, values: Mapping[str, str]) -> float | None:
    """For a p-value glued as ``<stem>_p``: the estimate (pp) glued beside it as ``<stem>_gain``, if any."""
    if not key.endswith("_p"):
        return None
    gain_key = key[:-2] + "_gain"
    text = values.get(gain_key, "").strip()
    entry = glue_registry.lookup(gain_key)
    if entry is not None and entry.numeric and glue_registry.is_number(text):
        return float(text) * (100.0 if entry.unit == "%" else 1.0)
    m = re.fullmatch(_PCT, text)
    return float(m.group(1)) if m else None


def interval_key(key: str, keys: Iterable[str]) -> str | None:
    """The glue holding ``key``'s 95% interval, if the book glues one beside it: ``<name>_ci``, or the
    name with its last part replaced by ``ci`` (``<chapter>:f5_34_gain`` -> ``<chapter>:f5_34_ci``)."""
    keys = set(keys)
    for candidate in (f"{key}_ci", key.rsplit("_", 1)[0] + "_ci"):
        if candidate != key and candidate in keys:
            return candidate
    return None


# ----------------------------------------------------------------------------- comparing a build
COMPARISON_COLUMNS = ("key", "chapter", "name", "reference", "build", "status", "timing")
SHOWN_COLUMNS = ["chapter", "name", "reference", "build", "status"]  # what chapter 08 shows (timings: without status)


def compare(reference: Mapping[str, Any], values: Mapping[str, str]) -> pd.DataFrame:
    """One row per glued value of the reference or the build: ``status`` is ``exact``, ``within
    tolerance``, ``differs`` (:func:`match_kind`), ``missing in build`` or ``new in build``;
    ``timing`` marks timings (listed, never matched). Keys of chapters the build lacks entirely
    (e.g. chapter 08 comparing while it runs) are left out."""
    ref_values = {**reference.get("values", {}), **reference.get("timings", {})}
    chapters = {k.split(":", 1)[0] for k in values}
    rows = []
    for key in sorted(set(ref_values) | set(values)):
        chapter, _, name = key.partition(":")
        if key not in values and chapter not in chapters:
            continue
        ref, new = ref_values.get(key), values.get(key)
        timing = is_timing(key)
        if ref is None:
            status = "new in build"
        elif new is None:
            status = "missing in build"
        elif timing:
            status = "timing"
        else:
            ci = interval_key(key, ref_values)
            status = match_kind(key, ref, new, ref_values.get(ci) if ci else None, _tested_estimate(key, ref_values))
        rows.append(
            {
                "key": key,
                "chapter": chapter,
                "name": name,
                "reference": ref,
                "build": new,
                "status": status,
                "timing": timing,
            }
        )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def counts(table: pd.DataFrame) -> dict[str, int]:
    """Compared values (not timings) and how many match exactly, within tolerance, or not at all
    (differs, missing in build, new in build); timings listed apart."""
    result = table[~table.timing]
    exact = int((result.status == "exact").sum())
    within = int((result.status == "within tolerance").sum())
    return {
        "values": len(result),
        "exact": exact,
        "within": within,
        "rest": len(result) - exact - within,
        "timings": int(table.timing.sum()),
    }


def summary_line(profile: str, reference: Mapping[str, Any] | None, table: pd.DataFrame | None, where: str = "") -> str:
    """The one-line comparison printed by ``synthaug book`` and shown by chapter 08."""
    if reference is None or table is None:
        return f"reproduction: no reference for profile {profile} ({where or 'none committed'}); nothing compared"
    c = counts(table)
    commit = (reference.get("commit") or "unknown commit")[:12]
    return (
        f"reproduction: {c['exact']} of {c['values']} values match the {profile} reference exactly, "
        f"{c['within']} within tolerance, {c['rest']} not ({c['timings']} timings not compared; reference: "
        f"commit {commit}, {machine_label(reference.get('machine', {}))})"
    )


def build_comparison(
    profile: str, book_dir: str | Path, exclude_chapters: Iterable[str] = (), path: str | Path | None = None
) -> tuple[dict[str, Any] | None, pd.DataFrame | None, str]:
    """(reference or None, comparison table or None, :func:`summary_line`) for the built book in ``book_dir``."""
    path = Path(path) if path else reference_path(profile)
    reference = load_reference(path)
    if reference is not None and reference.get("profile") != profile:
        raise UserFacingError(f"reference {path} was written for profile {reference.get('profile')!r}, not {profile!r}")
    table = None if reference is None else compare(reference, glued_values(book_dir, exclude_chapters))
    return (
        reference,
        table,
        summary_line(profile, reference, table, _shown_path(path) + " absent" if reference is None else ""),
    )


def _shown_path(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it (a page never shows the build machine's folders)."""
    root = project_root()
    return (
        str(path.resolve().relative_to(root.resolve()))
        if root and path.resolve().is_relative_to(root.resolve())
        else str(path)
    )


# ----------------------------------------------------------------------------- chapter 08's section
def chapter_section(
    profile, book_dir: str | Path | None, this_chapter: str = REPORT.id, path: str | Path | None = None
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Chapter 08's comparison of this build with the committed reference of its profile.

    ``profile``: the loaded Profile; ``book_dir``: the executed chapters (None: ``<repo>/book``).
    Returns (``repro_*`` glue values, the values that do not match (exactly or within tolerance),
    the timings beside the reference's). The chapter's own values are left out here (it is still
    running); ``synthaug book`` compares them too, in the line it prints at the end of the build.
    """
    from synthaug_utils.diffusion.settings import generation_settings, precision_label

    book_dir = Path(book_dir) if book_dir else (project_root() or Path.cwd()) / "book"
    path = Path(path) if path else reference_path(profile.name)
    reference, table, line = build_comparison(profile.name, book_dir, [this_chapter], path)
    precision = precision_label(profile, generation_settings(profile))
    facts = {
        "repro_summary": line,
        "repro_reference_file": _shown_path(path),
        "repro_machine": machine_label(machine()),
        "repro_precision": precision,
        "repro_tol_pp": PERCENT_TOLERANCE,
        "repro_tol_z": Z_TOLERANCE,
        "repro_tol_rel": RELATIVE_TOLERANCE,
        "repro_status": (
            f"There is no reference for profile {profile.name}: nothing is compared."
            if reference is None
            else _status_sentence(profile.name, reference, table)
        ),
        **statement_facts(profile, book_dir, reference, table, this_chapter),
    }
    if table is None:
        return facts, pd.DataFrame(columns=SHOWN_COLUMNS), pd.DataFrame(columns=SHOWN_COLUMNS)
    timings = table[table.timing]
    return facts, _outside_tolerance(table), _readable(timings[SHOWN_COLUMNS[:-1]].reset_index(drop=True))


def statement_facts(
    profile,
    book_dir: Path,
    reference: Mapping[str, Any] | None,
    table: pd.DataFrame | None,
    this_chapter: str = REPORT.id,
) -> dict[str, str]:
    """The front page's reproducibility statement, glued by chapter 08 (``repro_*``): the commit, the
    profile, package versions, the CPU, GPU and kernels the chapters ran on, when they ran, and how
    many glued values of the other chapters match the committed reference."""
    commit = git_commit()
    if commit is None:
        shown_commit = "unknown (not built from a git checkout)"
    else:
        shown_commit = commit[:12] + (" with uncommitted changes" if commit.endswith("+dirty") else "")
    if reference is None or table is None:
        check = f"not made: no reference is committed for profile {profile.name}"
    else:
        c = counts(table)
        check = (
            f"{c['exact']} of {c['values']} glued values of the other chapters match the committed "
            f"{profile.name} reference (commit {(reference.get('commit') or 'unknown')[:12]}) exactly and "
            f"{c['within']} more within tolerance; {c['rest']} do not ({c['timings']} timings are not compared)"
        )
    return {
        "repro_commit": shown_commit,
        "repro_profile": profile.name,
        "repro_versions": package_versions(),
        "repro_cpu": cpu_label(),
        "repro_gpu": gpu_label(getattr(profile, "device", "cpu")),
        "repro_kernels": chapter_kernels(),
        "repro_built": execution_window(book_dir, this_chapter),
        "repro_check": check,
    }


def other_kernels_path(profile: str, root: Path | None = None) -> Path:
    """Where a recorded build of ``profile`` on other CPU kernels lives (``<profile>-other-kernels.json``
    beside the reference): written by ``synthaug book --write-reference`` from a build run with, e.g.,
    ``ATEN_CPU_CAPABILITY=default``."""
    return reference_path(profile, root).with_name(f"{profile}-other-kernels.json")


def kernels_label(record: Mapping[str, Any]) -> str:
    """The kernel sets a recorded build's chapters ran with, e.g. ``ATEN_CPU_CAPABILITY=default,
    ONEDNN_MAX_CPU_ISA=AVX2``."""
    kernels = record.get("machine", {}).get("embedded_chapter_kernels")
    return (
        ", ".join(f"{k}={v}" for k, v in kernels.items()) if isinstance(kernels, dict) else str(kernels or "unrecorded")
    )


def other_kernels_section(
    profile: str, path: str | Path | None = None, reference_file: str | Path | None = None
) -> tuple[dict[str, str], pd.DataFrame]:
    """Chapter 08's check across CPU kernel sets: the recorded build on other kernels
    (:func:`other_kernels_path`) compared with the committed reference. Returns (``repro_kernels_status``
    glue, the values outside tolerance)."""
    path = Path(path) if path else other_kernels_path(profile)
    reference, other = load_reference(reference_file or reference_path(profile)), load_reference(path)
    if reference is None or other is None:
        what = "reference" if reference is None else f"build on other CPU kernels ({_shown_path(path)})"
        return (
            {"repro_kernels_status": f"No {what} is recorded for profile {profile}: nothing is compared."},
            pd.DataFrame(columns=SHOWN_COLUMNS),
        )
    table = compare(reference, other["values"])
    c = counts(table)
    share, verdict = _share_and_verdict(c)
    same = other.get("commit") == reference.get("commit")
    sentence = (
        f"A whole build of commit {(other.get('commit') or 'unknown')[:12]} ({other.get('date', 'undated')}) on "
        f"{machine_label(other.get('machine', {}))}, its chapters on {kernels_label(other)}, against the reference, "
        "its "
        f"chapters on {kernels_label(reference)}"
        f"{'' if same else ' (written at commit ' + (reference.get('commit') or 'unknown')[:12] + ')'}: "
        f"{c['exact']} of {c['values']} values match exactly ({share}) and {c['within']} within tolerance; {verdict}. "
        f"The record is {_shown_path(path)}."
    )
    return {"repro_kernels_status": sentence}, _outside_tolerance(table)


def _outside_tolerance(table: pd.DataFrame) -> pd.DataFrame:
    """The compared values (not timings) of a comparison that match neither exactly nor within tolerance."""
    rest = table[~table.timing & ~table.status.isin(["exact", "within tolerance"])]
    return _readable(rest[SHOWN_COLUMNS].reset_index(drop=True))


def _readable(shown: pd.DataFrame) -> pd.DataFrame:
    """``shown`` with raw glued floats written to 4 significant digits for the page (the comparison itself
    used every digit)."""

    def cell(value):
        if isinstance(value, float):
            return f"{value:.4g}"
        if isinstance(value, str) and "." in value and len(value.rsplit(".", 1)[1]) > 4:
            try:
                return f"{float(value):.4g}"
            except ValueError:
                return value
        return value

    out = shown.copy()
    for column in ("reference", "build"):
        if column in out:
            out[column] = out[column].map(cell)
    return out


def _share_and_verdict(c: Mapping[str, int]) -> tuple[str, str]:
    """The share of exact matches and whether everything compared is within tolerance, from :func:`counts`."""
    share = f"{c['exact'] / c['values']:.0%}" if c["values"] else "no"
    verdict = (
        "every compared value is within tolerance"
        if c["rest"] == 0
        else f"{c['rest']} value(s) are outside it, listed below"
    )
    return share, verdict


def _status_sentence(profile: str, reference: Mapping[str, Any], table: pd.DataFrame) -> str:
    c = counts(table)
    share, verdict = _share_and_verdict(c)
    return (
        f"Of the {c['values']} values of the other chapters compared with the {profile} reference (written at commit "
        f"{(reference.get('commit') or 'unknown')[:12]} on {machine_label(reference.get('machine', {}))}, "
        f"{reference.get('date', 'undated')}), {c['exact']} match exactly ({share}) and {c['within']} within "
        f"tolerance: {verdict}. {c['timings']} timings are listed apart and not compared."
    )
