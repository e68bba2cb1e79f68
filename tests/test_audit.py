"""The near-duplicate audit (synthaug_utils.data.audit): cluster parsing and the audit's numbers on a
hand-made world small enough to count by hand, and invariants of the real shipped metadata."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthaug_utils.core.errors import DataError
from synthaug_utils.data import audit
from synthaug_utils.data.tables import F17K_TEST_FILE, F17K_TRAIN_FILE

CLUSTERS_C = Path(__file__).resolve().parents[2] / "shared" / "data" / "fitzpatrick17k-c" / audit.CLUSTER_FILE
PAPER_DIR = Path(__file__).resolve().parents[2] / "shared" / "paper"


# ----------------------------------------------------------------------------- a hand-made world
def _md5(prefix: str) -> str:
    return prefix + "0" * 24


# (md5 prefix, label, fst, split file)
ROWS = [
    ("11111111", "alpha", 1, "train"),
    ("22222222", "alpha", 2, "train"),
    ("33333333", "alpha", 3, "train"),
    ("44444444", "beta", 1, "train"),
    ("55555555", "beta", -1, "train"),
    ("66666666", "gamma", 2, "train"),
    ("aaaaaaaa", "alpha", 1, "test"),
    ("bbbbbbbb", "alpha", 2, "test"),
    ("cccccccc", "beta", 3, "test"),
    ("dddddddd", "gamma", 4, "test"),
]

# Line 1: two alpha training images and an alpha held-out image (leaks, same label; a redundant cluster).
# Line 2: a beta training image, a beta held-out image (leaks) and an image outside the split files.
# Line 4 (after a blank line): alpha and gamma training images (redundant, label noise inside training).
# Line 5: an alpha held-out image with a beta training image (leaks with another label; noise across the split).
# Line 6: a gamma held-out image with an image outside the split files (no leak).
CLUSTER_TEXT = """['al_f1_1_11111111', 'al_f2_2_22222222', 'al_f1_7_aaaaaaaa']
['be_f1_4_44444444', 'be_f3_9_cccccccc', 'de_f5_3_99999999']

['al_f3_3_33333333', 'ga_f2_6_66666666']
['al_f2_8_bbbbbbbb', 'be_f0_5_55555555']
['ga_f4_10_dddddddd', 'ze_f6_1_eeeeeeee']
"""


def _images(clusters: pd.DataFrame | None = None) -> pd.DataFrame:
    images = pd.DataFrame(
        [{"image_id": _md5(p), "label": lab, "fst": fst, "split": split} for p, lab, fst, split in ROWS]
    )
    return audit.attach_clusters(images, audit.parse_clusters(CLUSTER_TEXT) if clusters is None else clusters)


def _write_world(folder):
    for split, name in (("train", F17K_TRAIN_FILE), ("test", F17K_TEST_FILE)):
        rows = [f"{_md5(p)},{fst},{lab}" for p, lab, fst, s in ROWS if s == split]
        (folder / name).write_text("md5hash,fitzpatrick_scale,label\n" + "\n".join(rows) + "\n")
    (folder / audit.CLUSTER_FILE).write_text(CLUSTER_TEXT)
    return folder


# ----------------------------------------------------------------------------- parsing
def test_parse_cluster_id():
    member = audit.parse_cluster_id("di-ac-po_f0_46_9b3d2b7c")
    assert (member.abbreviation, member.fst, member.index, member.md5_prefix) == ("di-ac-po", -1, 46, "9b3d2b7c")
    assert audit.parse_cluster_id("tu_f4_120_e1557fa1").fst == 4
    for bad in ("tu_f7_1_e1557fa1", "tu_f4_1_e1557fa", "tu_4_1_e1557fa1", "TU_f4_1_e1557fa1"):
        with pytest.raises(DataError, match="not a Fitzpatrick17k-C image id"):
            audit.parse_cluster_id(bad)


def test_parse_clusters_numbers_clusters_by_line():
    clusters = audit.parse_clusters(CLUSTER_TEXT)
    assert len(clusters) == 12
    assert clusters.groupby("cluster").size().to_dict() == {1: 3, 2: 3, 4: 2, 5: 2, 6: 2}
    row = clusters.set_index("md5_prefix").loc["55555555"]
    assert (row.cluster, row.fst, row.abbreviation) == (5, -1, "be")


@pytest.mark.parametrize(
    "text, message",
    [
        ("['al_f1_1_11111111', 'al_f2_2_22222222'\n", "line 1: not a Python list"),
        ("['al_f1_1_11111111', 'al_f2_2_22222222']\n['al_f1_3_33333333']\n", "line 2: a cluster needs at least two"),
        (
            "['al_f1_1_11111111', 'al_f2_2_22222222']\n['al_f1_3_33333333', 'al_f1_9_11111111']\n",
            "already in the cluster of line 1",
        ),
        ("{'al_f1_1_11111111': 1}\n", "not a list of image ids"),
    ],
)
def test_parse_clusters_rejects_bad_files(text, message):
    with pytest.raises(DataError, match=message):
        audit.parse_clusters(text)


def test_attach_clusters_checks_prefixes_and_skin_types():
    images = _images()
    assert images.set_index("image_id").cluster.to_dict() == {
        _md5("11111111"): 1,
        _md5("22222222"): 1,
        _md5("33333333"): 4,
        _md5("44444444"): 2,
        _md5("55555555"): 5,
        _md5("66666666"): 4,
        _md5("aaaaaaaa"): 1,
        _md5("bbbbbbbb"): 5,
        _md5("cccccccc"): 2,
        _md5("dddddddd"): 6,
    }
    lonely = pd.DataFrame({"image_id": [_md5("12345678")], "label": ["alpha"], "fst": [1], "split": ["train"]})
    assert audit.attach_clusters(lonely, audit.parse_clusters(CLUSTER_TEXT)).cluster.isna().all()
    twins = pd.DataFrame(
        {
            "image_id": ["11111111" + "a" * 24, "11111111" + "b" * 24],
            "label": ["a", "b"],
            "fst": [1, 1],
            "split": ["train", "test"],
        }
    )
    with pytest.raises(DataError, match="share the md5 prefix 11111111"):
        audit.attach_clusters(twins, audit.parse_clusters(CLUSTER_TEXT))
    wrong = pd.DataFrame({"image_id": [_md5("11111111")], "label": ["alpha"], "fst": [5], "split": ["train"]})
    with pytest.raises(DataError, match="skin type 5 but its cluster id says 1"):
        audit.attach_clusters(wrong, audit.parse_clusters(CLUSTER_TEXT))


# ----------------------------------------------------------------------------- the audit by hand
def test_audit_table_counts_by_hand():
    table = audit.audit_table(_images(), "hand").set_index("label")
    columns = [
        "held_out",
        "leaking",
        "leaking_same_label",
        "training",
        "redundant",
        "redundant_clusters",
        "noise_clusters",
        "noise_cross_split",
    ]
    assert table.loc["alpha", columns].tolist() == [2, 2, 1, 3, 3, 2, 2, 1]
    assert table.loc["beta", columns].tolist() == [1, 1, 1, 2, 0, 0, 1, 1]
    assert table.loc["gamma", columns].tolist() == [1, 0, 0, 1, 1, 1, 1, 0]
    # clusters are counted once in the total: line 4 (alpha + gamma) and line 5 (alpha + beta)
    assert table.loc[audit.ALL_LABELS, columns].tolist() == [4, 3, 2, 6, 4, 2, 2, 1]
    assert table.leaking_share.tolist() == [1.0, 1.0, 0.0, 0.75]
    assert (table.scope == "hand").all()


def test_leaking_ids_by_hand():
    assert audit.leaking_ids(_images()) == {_md5("aaaaaaaa"), _md5("bbbbbbbb"), _md5("cccccccc")}


def test_label_noise_clusters_by_hand():
    noise = audit.label_noise_clusters(_images(), "hand")
    assert noise.cluster.tolist() == [4, 5] and noise.crosses_split.tolist() == [False, True]
    assert noise.members.tolist() == ["training: alpha, gamma", "training: beta; held-out: alpha"]
    images = _images()
    images.loc[images.image_id == _md5("bbbbbbbb"), "split"] = "train"  # two alpha training images on line 5
    assert audit.label_noise_clusters(images).members.tolist()[1] == "training: alpha, beta"
    images.loc[images.image_id == _md5("66666666"), "label"] = "alpha"  # line 4 is alpha only: no label noise
    assert audit.label_noise_clusters(images).cluster.tolist() == [5]


def test_a_scope_leaves_other_labels_out():
    images = _images()
    two = audit.audit_table(images[images.label != "beta"]).set_index("label")
    # without beta, line 5 holds only a held-out image: no leak, no label noise
    assert two.loc["alpha", ["leaking", "noise_clusters", "noise_cross_split"]].tolist() == [1, 1, 0]


def test_fig1a_and_fst_tables_by_hand():
    images = _images()
    fig1a = audit.fig1a_table(images, paper={"alpha": 5, "beta": 4, "gamma": 2}).set_index("label")
    assert fig1a.loc["alpha", ["training", "held_out", "total", "paper", "difference"]].tolist() == [3, 2, 5, 5, 0]
    assert fig1a.loc["beta", "difference"] == -1 and fig1a.loc[audit.ALL_LABELS, ["total", "paper"]].tolist() == [
        10,
        11,
    ]
    fst = audit.fst_table(images).set_index(["split", "fst"])
    assert fst.loc[("training", "I"), "count"] == 2 and fst.loc[("training", "unknown"), "count"] == 1
    assert fst.loc[("held-out", "IV"), "share"] == 0.25
    assert fst.groupby(level="split")["count"].sum().to_dict() == {"held-out": 4, "training": 6}
    wide = audit.fst_wide(audit.fst_table(images)).set_index("split")
    assert wide.loc["training", "I"] == "2 (33.3%)" and wide.loc["held-out", "images"] == 4


def test_real_metadata_audit_end_to_end_on_files(tmp_path):
    folder = _write_world(tmp_path)
    result = audit.real_metadata_audit(folder, folder / audit.CLUSTER_FILE)
    values = result.values
    assert (values["audit_leak_total"], values["audit_held_out"], values["audit_leak_share"]) == ("3", "4", "75.0%")
    assert values["audit_leak_alpha"] == "2" and values["audit_leak_gamma"] == "0"
    assert values["audit_leak_by_label"] == "alpha 2 of 2; beta 1 of 1; gamma 0 of 1"
    assert (values["audit_redundant"], values["audit_redundant_clusters"], values["audit_redundant_extra"]) == (
        "4",
        "2",
        "2",
    )
    assert (values["audit_noise_clusters"], values["audit_noise_cross_split"]) == ("2", "1")
    assert values["audit_noise_list"] == "line 4 (training: alpha, gamma), line 5 (training: beta; held-out: alpha)"
    assert values["audit_clusters"] == "5" and values["audit_largest_cluster"] == "3"
    assert set(result.audit.scope) == set(audit.SCOPES)
    assert all(isinstance(v, str) for v in values.values())


def test_compact_split_csv_keeps_rows_and_text(tmp_path):
    source = tmp_path / "split.csv"
    source.write_text(
        "md5hash,fitzpatrick_scale,fitzpatrick_centaur,label,url\n"
        'ab12,-1,2,psoriasis,"https://x/y,z.jpg"\nff00,6,6,lichen planus,u\n'
    )
    assert (
        audit.compact_split_csv(source) == "md5hash,fitzpatrick_scale,label\nab12,-1,psoriasis\nff00,6,lichen planus\n"
    )
    (tmp_path / "bad.csv").write_text("md5hash,label\nab12,psoriasis\n")
    with pytest.raises(DataError, match="fitzpatrick_scale"):
        audit.compact_split_csv(tmp_path / "bad.csv")


# ----------------------------------------------------------------------------- the real shipped data
def test_shipped_copies_match_shared(f17k_dir):
    """The shipped split files are the real files cut to three columns; the cluster file is verbatim."""
    for name in (F17K_TRAIN_FILE, F17K_TEST_FILE):
        assert (audit.RESOURCE_DIR / name).read_bytes() == audit.compact_split_csv(f17k_dir / name).encode(), name
    if not CLUSTERS_C.is_file():
        pytest.skip(f"Fitzpatrick17k-C clusters not found at {CLUSTERS_C}")
    assert (audit.RESOURCE_DIR / audit.CLUSTER_FILE).read_bytes() == CLUSTERS_C.read_bytes()


def test_shipped_readme_names_sources_licences_and_citations():
    readme = (audit.RESOURCE_DIR / "README.md").read_text()
    for needle in (
        "CC BY-NC-SA 3.0",
        "CC BY-NC 4.0",
        "manrai/synthetic-derm",
        "github.com/mattgroh/fitzpatrick17k",
        "kakumarabhishek/Corrected-Skin-Image-Datasets",
        "10.5281/zenodo.11101337",
        "@article{abhishek2024",
    ):
        assert needle in readme, needle


def test_real_audit_invariants():
    """Shipped data: every cluster member in the split files has a unique md5 prefix and the skin type its id
    says (``attach_clusters`` checks both); Fig. 1A as the paper prints it; counts that must nest."""
    result = audit.real_metadata_audit()
    clusters = result.clusters
    assert clusters.cluster.nunique() == 2297 and len(clusters) == 5005
    assert (result.fig1a.difference == 0).all() and result.fig1a.total.iloc[-1] == audit.PAPER_F17K9_TOTAL
    table = result.audit.set_index(["scope", "label"])
    for scope in audit.SCOPES:
        rows = table.loc[scope]
        per_label, everything = rows.drop(index=audit.ALL_LABELS), rows.loc[audit.ALL_LABELS]
        for col in ("held_out", "leaking", "leaking_same_label", "training", "redundant"):
            assert per_label[col].sum() == everything[col], (scope, col)
        assert (rows.leaking_same_label <= rows.leaking).all() and (rows.leaking <= rows.held_out).all()
        assert everything.redundant >= 2 * everything.redundant_clusters
        assert everything.noise_cross_split <= everything.noise_clusters
        assert (per_label.held_out == 40).all()
    nine, ten = table.loc["F17k-9", audit.ALL_LABELS], table.loc["10 labels", audit.ALL_LABELS]
    assert nine.leaking <= ten.leaking and nine.redundant <= ten.redundant and nine.leaking > 0
    assert result.values["audit_held_out"] == "360"
    assert len(audit.leaking_ids(audit.real_images("F17k-9"))) == nine.leaking


def test_paper_counts_are_quoted_verbatim():
    from synthaug_utils.analysis.paper import find_paper_text, normalise_whitespace

    path = find_paper_text([PAPER_DIR])
    if path is None:
        pytest.skip(f"paper text not at {PAPER_DIR}")
    text = normalise_whitespace(path.read_text(encoding="utf-8"))
    for quote in audit.PAPER_F17K9_QUOTES:
        assert normalise_whitespace(quote) in text
    for label, n in audit.PAPER_F17K9_COUNTS.items():
        assert f"{label} ({n})" in text
    assert sum(audit.PAPER_F17K9_COUNTS.values()) == audit.PAPER_F17K9_TOTAL
