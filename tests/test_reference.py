"""The reference of a book's glued values and the comparison of a build with it (issue 17)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from synthaug_utils.presentation import book, reference

ROOT = Path(__file__).resolve().parents[1]


def _glue_outputs(monkeypatch, values: dict) -> list[dict]:
    """The outputs ``glue_values(values)`` writes into a notebook (myst_nb's own glue, captured)."""
    from myst_nb.ext import glue as myst_glue

    captured = []
    monkeypatch.setattr(
        myst_glue,
        "ipy_display",
        lambda data, raw, metadata: captured.append(
            nbformat.v4.new_output("display_data", data=data, metadata=metadata)
        ),
    )
    book.glue_values(values)
    return captured


def _write_book(folder: Path, monkeypatch, chapters: dict[str, dict], profile: str = "smoke") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, values in chapters.items():
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("glue_values(...)")
        cell.outputs = _glue_outputs(monkeypatch, values)
        nb.cells = [nbformat.v4.new_markdown_cell("# title"), cell]
        nb.metadata["synthaug"] = {"fingerprint": "x", "profile": profile}
        nbformat.write(nb, str(folder / f"{name}.ipynb"))
    return folder


BOOK = {
    "01_data": {"n_test": 72, "acc": "31.9%", "ci": "+5.1 pp to +11.9 pp", "f3_best_p": "0.756"},
    "02_generation": {"gen_precision": "fp32", "cost_text-to-image": "35", "e_seconds": "1.2"},
    "08_reproduction_report": {"rr_inside": "2", "repro_summary": "reproduction: ..."},
}


def test_glued_values_are_read_as_the_book_shows_them(tmp_path, monkeypatch):
    values = reference.glued_values(_write_book(tmp_path / "book", monkeypatch, BOOK))
    assert values["01_data:n_test"] == "72" and values["01_data:acc"] == "31.9%"  # strings without their quotes
    assert values["02_generation:gen_precision"] == "fp32"
    assert "08_reproduction_report:repro_summary" not in values  # the comparison itself is never a value
    assert "08_reproduction_report:rr_inside" in values
    assert not any(k.startswith("08_") for k in reference.glued_values(tmp_path / "book", ["08_reproduction_report"]))
    with pytest.raises(reference.UserFacingError, match="no built book"):
        reference.glued_values(tmp_path / "absent")


def test_a_rebuild_is_compared_with_the_reference_and_a_changed_value_is_listed(tmp_path, monkeypatch):
    first = _write_book(tmp_path / "a" / "book", monkeypatch, BOOK)
    path = tmp_path / "smoke.json"
    written = reference.write_reference(first, path)
    assert written["profile"] == "smoke" and written["machine"]["cpu"] and "torch" in written["machine"]
    assert set(written["timings"]) == {"02_generation:cost_text-to-image", "02_generation:e_seconds"}
    assert "01_data:acc" in written["values"] and "date" in written
    ref = reference.load_reference(path)

    same = reference.compare(ref, reference.glued_values(first))
    assert reference.counts(same) == {"values": 6, "exact": 6, "within": 0, "rest": 0, "timings": 2}

    changed = {
        **BOOK,
        "01_data": {**BOOK["01_data"], "acc": "35.0%", "ci": "+5.3 pp to +11.9 pp"},
        "02_generation": {**BOOK["02_generation"], "e_seconds": "9.9"},
    }
    table = reference.compare(ref, reference.glued_values(_write_book(tmp_path / "b" / "book", monkeypatch, changed)))
    status = dict(zip(table.key, table.status))
    assert status["01_data:acc"] == "differs" and status["01_data:ci"] == "within tolerance"
    assert status["02_generation:e_seconds"] == "timing"  # a changed timing is listed, not counted
    assert reference.counts(table) == {"values": 6, "exact": 4, "within": 1, "rest": 1, "timings": 2}
    line = reference.summary_line("smoke", ref, table)
    assert line.startswith("reproduction: 4 of 6 values match the smoke reference exactly, 1 within tolerance, 1 not")

    fewer = {k: v for k, v in BOOK.items() if k != "08_reproduction_report"}
    fewer["01_data"] = {k: v for k, v in BOOK["01_data"].items() if k != "f3_best_p"}
    table = reference.compare(ref, reference.glued_values(_write_book(tmp_path / "c" / "book", monkeypatch, fewer)))
    status = dict(zip(table.key, table.status))
    assert status["01_data:f3_best_p"] == "missing in build"
    assert "08_reproduction_report:rr_inside" not in status  # a chapter the build lacks entirely is not compared


def test_no_reference_is_said_and_a_bad_one_refused(tmp_path, monkeypatch):
    folder = _write_book(tmp_path / "book", monkeypatch, BOOK)
    ref, table, line = reference.build_comparison("smoke", folder, path=tmp_path / "absent.json")
    assert ref is None and table is None
    assert line.startswith("reproduction: no reference for profile smoke") and "absent.json absent" in line
    (tmp_path / "bad.json").write_text('{"values": 1}')
    with pytest.raises(reference.UserFacingError, match="not a format-1 reference"):
        reference.load_reference(tmp_path / "bad.json")
    reference.write_reference(folder, tmp_path / "smoke.json")
    with pytest.raises(reference.UserFacingError, match="written for profile 'smoke', not 'demo'"):
        reference.build_comparison("demo", folder, path=tmp_path / "smoke.json")


@pytest.mark.parametrize(
    "key, ref, new, expected",
    [
        ("x", "31.9%", "31.9%", "exact"),
        ("x", "31.9%", "32.8%", "within tolerance"),
        ("x", "31.9%", "33.0%", "differs"),  # more than 1 pp
        ("x", "+5.1 pp to +11.9 pp", "+5.9 pp to +12.5 pp", "within tolerance"),
        ("x", "+5.1 pp to +11.9 pp", "+5.1 pp to +13.0 pp", "within tolerance"),  # one SE of the interval (1.7 pp)
        ("x", "+5.1 pp to +11.9 pp", "+5.1 pp to +14.0 pp", "differs"),
        # SE 2.2 pp off the interval; the p-value's z moves by 0.1
        (
            "x",
            "+4.1 pp (95% CI -0.3 pp to +8.3 pp, BH p = 0.025)",
            "+5.9 pp (95% CI +1.4 pp to +10.2 pp, BH p = 0.020)",
            "within tolerance",
        ),
        # 2.4 pp > one SE
        (
            "x",
            "+4.1 pp (95% CI -0.3 pp to +8.3 pp, BH p = 0.025)",
            "+6.5 pp (95% CI -0.3 pp to +8.3 pp, BH p = 0.025)",
            "differs",
        ),
        # a p-value inside a text: z 1.04 against 3.29
        (
            "x",
            "+4.1 pp (95% CI -0.3 pp to +8.3 pp, BH p = 0.300)",
            "+4.1 pp (95% CI -0.3 pp to +8.3 pp, BH p = 0.001)",
            "differs",
        ),
        ("x", "15", "16", "differs"),  # counts are exact
        ("x", "2772", "2,772", "within tolerance"),  # the same number, printed otherwise
        ("x", "0.530", "0.531", "within tolerance"),  # one unit in the last printed digit
        ("x", "0.1008", "0.1002", "within tolerance"),  # within 1%
        ("x", "0.530", "0.540", "differs"),
        ("x", "27.2", "27.3", "within tolerance"),
        ("f3_best_p", "0.756", "0.765", "within tolerance"),
        ("f5_34_p", "0.305", "0.523", "within tolerance"),  # z 1.03 against 0.64
        ("f5_34_p", "0.305", "0.010", "differs"),  # z 1.03 against 2.58
        ("f3_best_p", "3.37e-04", "5.10e-04", "within tolerance"),
        ("f3_best_p", "3.37e-04", "3.37e-06", "differs"),
        ("x", "text-to-image", "inpaint", "differs"),
        ("x", "lupus 8%, psoriasis 4%", "psoriasis 4%, lupus 8%", "differs"),  # the words must match
        ("x", "31.9%", "31.9 pp", "differs"),
    ],
)
def test_tolerance_rule(key, ref, new, expected):
    assert reference.match_kind(key, ref, new) == expected


def test_a_bare_estimate_takes_its_standard_error_from_the_interval_glued_beside_it():
    keys = [
        "05_skin_type:f5_34_gain",
        "05_skin_type:f5_34_ci",
        "05_skin_type:f5_34_to",
        "02_generation:gate_x",
        "02_generation:gate_x_ci",
        "02_generation:gate_x_min",
        "02_generation:gate_x_min_ci",
    ]
    assert reference.interval_key("05_skin_type:f5_34_gain", keys) == "05_skin_type:f5_34_ci"
    assert reference.interval_key("05_skin_type:f5_34_ci", keys) is None
    assert reference.interval_key("02_generation:gate_x", keys) == "02_generation:gate_x_ci"
    assert reference.interval_key("02_generation:gate_x_min", keys) == "02_generation:gate_x_min_ci"
    # +7.3 against +4.2 pp: outside 1 pp, inside one SE of -1.0 to +16.7 pp (4.5 pp)
    assert reference.match_kind("f5_34_gain", "+7.3 pp", "+4.2 pp") == "differs"
    assert reference.match_kind("f5_34_gain", "+7.3 pp", "+4.2 pp", "-1.0 pp to +16.7 pp") == "within tolerance"
    assert reference.match_kind("f5_34_gain", "+7.3 pp", "+1.2 pp", "-1.0 pp to +16.7 pp") == "differs"
    ref = {"values": {"05_skin_type:f5_34_gain": "+7.3 pp", "05_skin_type:f5_34_ci": "-1.0 pp to +16.7 pp"}}
    table = reference.compare(
        ref, {"05_skin_type:f5_34_gain": "+4.2 pp", "05_skin_type:f5_34_ci": "-4.2 pp to +12.5 pp"}
    )
    assert table.set_index("name").status.to_dict() == {
        "f5_34_gain": "within tolerance",
        "f5_34_ci": "within tolerance",
    }


def test_every_timing_glued_by_the_book_is_marked():
    """Every glue name the chapters use that reads like a timing is one (and the known timings are)."""
    names = set()
    for path in (ROOT / "notebooks").glob("*.py"):
        names |= {m.split(":", 1)[0] for m in re.findall(r"\{glue:text\}`([^`]+)`", path.read_text())}
    assert len(names) > 100
    assert not [n for n in names if reference.TIMING_WORDS.search(n) and not reference.is_timing(n)]
    for known in (
        "cost_text-to-image",
        "cost_db_seconds",
        "cost_threads",
        "mode_time_ratio",
        "e_seconds",
        "e_ips",
        "cost_total",
    ):
        assert reference.is_timing(known) and known in names
    assert not reference.is_timing("gate_real_t2i_pretrained") and not reference.is_timing("f3_best_p")
    # a value with a unit of time under a name that is not a timing is caught
    assert reference.unmarked_timings(
        {
            "02_generation:gen_wall": "3",
            "03_x:took": "took 3.2 s",
            "03_x:acc": "31.9%",
            "02_generation:generator_sentence": "pretrained in 24.2 minutes",
        }
    ) == ["02_generation:gen_wall", "03_x:took"]


def test_the_embedded_profiles_compute_in_fp32_and_an_override_is_stated(monkeypatch):
    from synthaug_utils.core.config import load_profile
    from synthaug_utils.diffusion import settings

    monkeypatch.setattr(settings, "cpu_has_native_bf16", lambda: True)  # a CPU with native bf16
    for name in ("demo", "smoke"):
        P = load_profile(name)
        gen = settings.generation_settings(P)
        assert gen.precision == "fp32" and settings.precision_label(P, gen) == "fp32"
    P = load_profile("demo", None, {"grids": {"generation": {"precision": "bf16"}}})
    gen = settings.generation_settings(P)
    assert gen.precision == "bf16"
    assert settings.precision_label(P, gen).startswith("bf16 (an override of this profile's default, fp32")
    assert (
        settings.generation_settings(
            load_profile("demo", None, {"grids": {"generation": {"precision": "auto"}}})
        ).precision
        == "bf16"
    )


def test_the_reproduction_chapter_runs_after_every_other_chapter(tmp_path, monkeypatch):
    names = [Path(f).name for f in book.chapter_names(ROOT / "_toc.yml")]
    reader = "08_reproduction_report"
    assert names[-1] == reader
    others = [n for n in names if n != reader]
    assert not book._ready(reader, names, names, set(others[:-1]))
    assert book._ready(reader, names, names, set(others))
    assert book._ready(reader, names, [names[0], reader], {names[0]})  # chapters not executed now are not waited for
    # a build that executes any chapter executes the reader too (its comparison would be stale)
    calls = []
    monkeypatch.setattr(book, "executed_fingerprint", lambda path: "same")
    monkeypatch.setattr(
        book, "chapter_fingerprint", lambda name, *a, **k: "changed" if name == "02_generation" else "same"
    )
    monkeypatch.setattr(book, "_execute_chapters", lambda todo, *a, **k: calls.append(list(todo)) or [])
    monkeypatch.setattr(book, "build_html", lambda root: root / "_build" / "html")
    for n in names:
        (tmp_path / "book").mkdir(exist_ok=True)
        (tmp_path / "book" / f"{n}.ipynb").write_text("{}")
    book.build_book("smoke", root=tmp_path)
    assert calls[-1] == ["02_generation", reader]
    monkeypatch.setattr(book, "chapter_fingerprint", lambda name, *a, **k: "same")
    book.build_book("smoke", root=tmp_path)
    assert calls[-1] == []
    src = (ROOT / "notebooks" / f"{reader}.py").read_text()
    assert book._declares_parameter(__import__("jupytext").reads(src, fmt="py:percent"), "book_dir")


def test_the_reference_file_is_part_of_chapter_08s_fingerprint(tmp_path, monkeypatch):
    monkeypatch.setattr(book, "source_root", lambda: tmp_path)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "08_reproduction_report.py").write_text("x = 1\n")
    before = book.chapter_fingerprint("08_reproduction_report", "smoke")
    (tmp_path / "benchmarks" / "reference").mkdir(parents=True)
    (tmp_path / "benchmarks" / "reference" / "smoke.json").write_text(json.dumps({"format": 1}))
    assert book.chapter_fingerprint("08_reproduction_report", "smoke") != before
    assert book.chapter_fingerprint("08_reproduction_report", "demo") == book.chapter_fingerprint(
        "08_reproduction_report", "demo"
    )


def test_embedded_builds_pin_avx2_kernels_unless_the_user_chose(monkeypatch):
    from synthaug_utils.core import machine

    monkeypatch.setattr(machine, "cpu_model_and_flags", lambda: ("cpu", {"avx2", "avx512f"}))
    env = {"ATEN_CPU_CAPABILITY": "default"}
    added = machine.pin_avx2_kernels(env)
    assert env["ATEN_CPU_CAPABILITY"] == "default" and "ATEN_CPU_CAPABILITY" not in added  # the user's choice wins
    assert (
        env["ONEDNN_MAX_CPU_ISA"] == "AVX2"
        and env["MKL_CBWR"] == "AVX2"
        and set(added) == {"ONEDNN_MAX_CPU_ISA", "MKL_CBWR"}
    )
    monkeypatch.setattr(machine, "cpu_model_and_flags", lambda: ("old cpu", {"sse4_2"}))
    assert machine.pin_avx2_kernels({}) == {}


def test_the_kernel_pin_is_only_for_child_processes(monkeypatch):
    import os

    from synthaug_utils.core import machine

    monkeypatch.setattr(machine, "cpu_model_and_flags", lambda: ("cpu", {"avx2"}))
    for name in machine.AVX2_KERNELS:
        monkeypatch.delenv(name, raising=False)
    with machine.avx2_kernels_for_children() as pinned:
        assert pinned == machine.AVX2_KERNELS and os.environ["MKL_CBWR"] == "AVX2"
    assert not any(name in os.environ for name in machine.AVX2_KERNELS)  # the test process keeps its own kernels


def test_a_recorded_build_on_other_kernels_is_compared_with_the_reference(tmp_path, monkeypatch):
    ref = {
        "format": reference.REFERENCE_FORMAT,
        "profile": "demo",
        "commit": "a" * 40,
        "date": "d",
        "machine": {"embedded_chapter_kernels": {"ATEN_CPU_CAPABILITY": "avx2"}},
        "values": {
            "02_generation:gen_steps": "6",
            "05_skin_type:f5_34_gain": "+7.3 pp",
            "05_skin_type:f5_34_ci": "-1.0 pp to +16.7 pp",
            "04_dose_response:f4_best_ratio": "4",
        },
        "timings": {},
    }
    other = dict(
        ref,
        machine={"embedded_chapter_kernels": {"ATEN_CPU_CAPABILITY": "default"}},
        values=dict(ref["values"], **{"05_skin_type:f5_34_gain": "+4.2 pp", "04_dose_response:f4_best_ratio": "2"}),
    )
    (tmp_path / "demo.json").write_text(json.dumps(ref))
    facts, rest = reference.other_kernels_section("demo", tmp_path / "other.json", tmp_path / "demo.json")
    assert facts["repro_kernels_status"].startswith("No build on other CPU kernels") and rest.empty
    (tmp_path / "other.json").write_text(json.dumps(other))
    facts, rest = reference.other_kernels_section("demo", tmp_path / "other.json", tmp_path / "demo.json")
    text = facts["repro_kernels_status"]
    assert "ATEN_CPU_CAPABILITY=default" in text and "ATEN_CPU_CAPABILITY=avx2" in text
    assert "2 of 4 values match exactly (50%) and 1 within tolerance; 1 value(s) are outside it" in text
    assert rest.name.tolist() == ["f4_best_ratio"]


@pytest.mark.parametrize(
    "ref, new, expected",
    [
        ("in-then-outpaint", "in-then-outpaint or inpaint (within one standard error)", "within tolerance"),
        ("inpaint", "in-then-outpaint or text-to-image (within one standard error)", "differs"),
        ("4", "2, 4 or 8 (within one standard error)", "within tolerance"),
        ("2 or 4 (within one standard error)", "8", "differs"),
    ],
)
def test_picks_agree_when_they_name_an_estimate_in_common(ref, new, expected):
    assert reference.match_kind("x", ref, new) == expected


def test_a_p_value_may_move_as_far_as_a_one_standard_error_move_of_its_estimate():
    # a GEE p-value (seeds fixed) beside a bootstrap interval (seeds varied): +2.4 pp with SE 3.3 pp at
    # z 1.41 means the test's own SE is 1.7 pp, so one bootstrap SE moves z by up to 1.95
    ref = "+2.4 pp (95% CI -4.4 pp to +8.6 pp, BH p = 0.159)"
    assert reference.match_kind("x", ref, "+0.6 pp (95% CI -6.1 pp to +7.0 pp, BH p = 0.716)") == "within tolerance"
    assert reference.match_kind("x", ref, "+0.6 pp (95% CI -6.1 pp to +7.0 pp, BH p = 0.990)") == "within tolerance"
    assert reference.match_kind("x", ref, "+2.4 pp (95% CI -4.4 pp to +8.6 pp, BH p = 1.00e-04)") == "differs"  # z 3.89
    assert reference.p_tolerance(0.159, 2.4, 13.0 / 3.92) == pytest.approx(1.95, abs=0.01)
    assert reference.p_tolerance(0.159, None, None) == reference.Z_TOLERANCE
    # a bare p-value takes its estimate and interval from the glues beside it
    assert reference.match_kind("f5_34_p", "0.159", "0.716") == "differs"  # z moved 1.05 > 1
    values = {
        "05_skin_type:f5_34_p": "0.159",
        "05_skin_type:f5_34_gain": "+2.4 pp",
        "05_skin_type:f5_34_ci": "-4.4 pp to +8.6 pp",
    }
    table = reference.compare({"values": values}, dict(values, **{"05_skin_type:f5_34_p": "0.716"}))
    assert table.set_index("name").status["f5_34_p"] == "within tolerance"
