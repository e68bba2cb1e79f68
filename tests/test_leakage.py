"""Near-duplicates across the Fitzpatrick17k split: the profile settings test_set and training_pool,
their results-store keys, the rehearsal's leaking rows, and Fig. 3's comparisons on leaking and clean
test images from stored predictions, and the stand-in world's planted pairs in that analysis (issue 25, section 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthaug_utils.analysis import leakage, tables
from synthaug_utils.core.config import NEAR_DUPLICATE_SETTINGS, ProfileError, load_profile
from synthaug_utils.data import audit
from synthaug_utils.data.near_duplicates import apply_near_duplicate_settings, leaking_test_ids, one_per_cluster
from synthaug_utils.data.tables import DatasetTables, read_f17k
from synthaug_utils.experiments.spec import base_spec, data_key
from synthaug_utils.presentation import prose
from synthaug_utils.rehearsal.common import RESOURCE_DIR as REHEARSAL_ROWS


def _paper(tmp_path, **overrides):
    """The paper profile on the shipped rehearsal rows (split files and metadata; an empty image folder)."""
    locations = {
        "f17k_metadata": str(REHEARSAL_ROWS / "fitzpatrick17k.csv"),
        "f17k_splits": str(REHEARSAL_ROWS),
        "f17k_images": str(tmp_path),
    }
    config = tmp_path / "paper.yml"
    config.write_text("".join(f"{k}: {v}\n" for k, v in locations.items()))
    return load_profile("paper", config=str(config), overrides=overrides)


# ----------------------------------------------------------------------------- the settings
def test_settings_default_to_the_authors_files_and_bad_values_name_the_parameter():
    assert list(NEAR_DUPLICATE_SETTINGS) == ["test_set", "training_pool"]
    for name in ("demo", "smoke", "paper"):
        P = load_profile(name)
        assert (P.test_set, P.training_pool) == ("authors", "all")
    for name, value in (("test_set", "clean"), ("training_pool", 1), ("test_set", None)):
        with pytest.raises(ProfileError) as info:
            load_profile("paper", overrides={name: value})
        message = str(info.value)
        assert "\n" not in message and f"{name}=" in message
        assert all(v in message for v in NEAR_DUPLICATE_SETTINGS[name])


def test_demo_and_bring_your_own_refuse_a_setting_they_cannot_apply(tmp_path):
    with pytest.raises(ProfileError, match=r"test_set='no-near-duplicates'.*stand-in world"):
        load_profile("demo", overrides={"test_set": "no-near-duplicates"})
    config = tmp_path / "byo.yml"
    config.write_text(f"main_data: {tmp_path / 'table.csv'}\noverrides:\n  training_pool: one-per-cluster\n")
    with pytest.raises(ProfileError, match=r"training_pool='one-per-cluster'.*bring-your-own"):
        load_profile("paper", config=str(config))
    P = load_profile("paper", overrides={"test_set": "no-near-duplicates", "training_pool": "one-per-cluster"})
    assert (P.test_set, P.training_pool) == ("no-near-duplicates", "one-per-cluster")


def test_a_setting_enters_the_main_data_key_only_when_not_the_default():
    P = load_profile("paper")
    assert data_key(P, P.dataset) == "f17k9:external:val40"  # the stored keys of the paper's trials
    Q = P.replace(test_set="no-near-duplicates")
    assert data_key(Q, Q.dataset) == "f17k9:external:val40:test_set=no-near-duplicates"
    R = Q.replace(training_pool="one-per-cluster")
    assert data_key(R, R.dataset).endswith(":test_set=no-near-duplicates:training_pool=one-per-cluster")
    assert data_key(R, R.ddi_dataset) == data_key(P, P.ddi_dataset)  # DDI has no such clusters
    keys = {base_spec(p, n_real=16).key for p in (P, Q, R)}
    assert len(keys) == 3
    assert base_spec(R, "ddi").key == base_spec(P, "ddi").key


# ----------------------------------------------------------------------------- the tables
CLUSTERS = """['pso_f1_1_aaaaaaa1', 'pso_f1_2_aaaaaaa2', 'pso_f1_3_aaaaaaa3']
['pso_f2_4_bbbbbbb1', 'pso_f2_5_bbbbbbb2']
['lp_f3_6_ccccccc1', 'lp_f3_7_ccccccc2']
"""


def _small_tables() -> DatasetTables:
    def rows(ids, label, fst, split):
        return [{"image_id": i + "0" * 24, "path": "", "label": label, "fst": fst, "split": split} for i in ids]

    pool = pd.DataFrame(
        rows(["aaaaaaa2", "aaaaaaa1", "dddddddd"], "psoriasis", 1, "train")
        + rows(["bbbbbbb1"], "psoriasis", 2, "train")
        + rows(["ccccccc1", "ccccccc2", "eeeeeeee"], "lichen planus", 3, "train")
    )
    test = pd.DataFrame(
        rows(["aaaaaaa3", "ffffffff"], "psoriasis", 1, "test")
        + rows(["bbbbbbb2"], "psoriasis", 2, "test")
        + rows(["99999999"], "lichen planus", 3, "test")
    )
    return DatasetTables("f17k9", pool, test, ["lichen planus", "psoriasis"])


def test_settings_remove_leaking_test_images_and_thin_the_pool_to_one_per_cluster():
    clusters = audit.parse_clusters(CLUSTERS)
    tables = _small_tables()
    same = apply_near_duplicate_settings(tables, clusters=clusters)
    assert same.name == "f17k9" and same.pool.equals(tables.pool) and same.test.equals(tables.test)
    assert [i[:8] for i in same.meta["near_duplicates"]["leaking"]] == ["aaaaaaa3", "bbbbbbb2"]
    clean = apply_near_duplicate_settings(tables, "no-near-duplicates", clusters=clusters)
    assert sorted(i[:8] for i in clean.test.image_id) == ["99999999", "ffffffff"]
    assert clean.meta["near_duplicates"]["removed_test"] == 2 and clean.name == "f17k9" and len(clean.pool) == 7
    thin = apply_near_duplicate_settings(tables, "authors", "one-per-cluster", clusters=clusters)
    assert thin.name == "f17k9-one-per-cluster" and thin.meta["near_duplicates"]["removed_training"] == 2
    assert [i[:8] for i in thin.pool.image_id] == ["aaaaaaa1", "dddddddd", "bbbbbbb1", "ccccccc1", "eeeeeeee"]
    assert len(thin.test) == 4 and list(thin.pool.columns) == list(tables.pool.columns)
    shuffled = audit.attach_clusters(tables.pool.sample(frac=1, random_state=3), clusters)
    assert sorted(one_per_cluster(shuffled).image_id) == sorted(thin.pool.image_id)  # does not depend on row order


def test_the_paper_profile_reads_both_test_sets_and_both_pools(tmp_path):
    from synthaug_utils.data.splits import dataset_tables, make_splits

    authors = dataset_tables(_paper(tmp_path))
    clean = dataset_tables(_paper(tmp_path, test_set="no-near-duplicates"))
    thin = dataset_tables(_paper(tmp_path, training_pool="one-per-cluster"))
    leaking = leaking_test_ids(_paper(tmp_path))
    assert leaking and leaking <= set(authors.test.image_id)
    assert set(clean.test.image_id) == set(authors.test.image_id) - leaking
    assert clean.pool.equals(authors.pool)
    assert len(thin.pool) < len(authors.pool) and thin.test.equals(authors.test)
    assert make_splits(thin, 2, 0).dataset == "f17k9-one-per-cluster"
    assert leaking_test_ids(_byo(tmp_path)) is None


def test_rehearsal_rows_hold_leaking_and_clean_held_out_images_and_redundant_training_images():
    images = audit.real_images("F17k-9", REHEARSAL_ROWS)
    row = audit.audit_table(images).set_index("label").loc[audit.ALL_LABELS]
    assert 2 <= row.leaking < row.held_out  # both groups exist for chapter 03's table
    assert row.leaking == row.leaking_same_label
    assert row.redundant > row.redundant_clusters >= 1  # one-per-cluster removes something
    tables = read_f17k(None, REHEARSAL_ROWS)
    assert tables.pool.label.value_counts().min() == 8 and tables.test.label.value_counts().max() == 3


# ----------------------------------------------------------------------------- the analysis
def _trials(leaking: set[str], images: list[str], seeds=(0, 1, 2)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stored-looking trials of a small Fig. 3 grid: synthetic arms help the leaking images most."""
    rng = np.random.default_rng(0)
    frame, preds = [], []
    for n in (1, 4):
        for method in ("none", "inpaint", "text-to-image"):
            for seed in seeds:
                key = f"{n}-{method}-{seed}"
                frame.append(
                    {
                        "key": key,
                        "n_real": n,
                        "transforms": False,
                        "synthetic_method": None if method == "none" else method,
                        "synthetic_ratio": 0 if method == "none" else 4,
                        "duplicate": 0,
                        "n_real_per_label": "",
                        "seed": seed,
                    }
                )
                for image in images:
                    chance = (
                        0.3 + (0.1 if method != "none" else 0) + (0.5 if image in leaking and method != "none" else 0)
                    )
                    preds.append(
                        {
                            "key": key,
                            "image_id": image,
                            "label": "psoriasis",
                            "fst": 1,
                            "correct": bool(rng.uniform() < chance),
                        }
                    )
    return pd.DataFrame(frame), pd.DataFrame(preds)


def test_the_comparisons_on_leaking_and_clean_images():
    images = [f"{i:032x}" for i in range(30)]
    leaking = set(images[:6])
    frame, preds = _trials(leaking, images)
    long = leakage.leakage_comparisons(tables.merged_predictions(frame, preds), leaking)
    assert len(long) == 4 * 3 and set(long.test_set) == set(leakage.TEST_SETS)
    assert dict(long.groupby("test_set").images.max()) == {"authors": 30, "no-near-duplicates": 24, "leaking": 6}
    fig3 = tables.fig3_table(frame, preds).dropna(subset=["gain"])
    same = long[long.test_set == "authors"].merge(fig3, on=["n_real", "transforms", "method"], suffixes=("", "_fig3"))
    assert len(same) == 4 and np.allclose(same.gain, same.gain_fig3) and np.allclose(same.p_bh, same.p_bh_fig3)
    clean = long[long.test_set == "no-near-duplicates"].iloc[0]
    base = tables.merged_predictions(frame, preds)
    arm = base[(base.n_real == 1) & (base.method == "inpaint") & ~base.image_id.isin(leaking)]
    none = base[(base.n_real == 1) & (base.method == "none") & ~base.image_id.isin(leaking)]
    assert clean.gain == pytest.approx(arm.correct.mean() - none.correct.mean())
    wide = leakage.leakage_wide(long)
    assert len(wide) == 4 and wide.leak_minus_clean.gt(0).all()
    assert any("leaking only (6 images)" in c for c in wide.columns)
    facts = leakage.leakage_facts(long, images, leaking)
    assert (facts["lk_images"], facts["lk_leaking"], facts["lk_clean"], facts["lk_share"]) == ("30", "6", "24", "20.0%")
    assert facts["lk_leak_larger"] == "4 of 4" and "lk_sentence" not in facts
    report = leakage.LeakageReport(long, None, facts, frozenset(leaking))
    words = prose.leakage_sentences(load_profile("paper"), report)
    assert "Of the 30 scored held-out images, 6 (20.0%) have a near-duplicate" in words["lk_sentence"]
    assert "4 of 4 comparisons" in words["lk_sentence"] and "the authors' test set" in words["lk_sentence"]
    assert "Fitzpatrick17k-C cluster" in words["lk_where"] and words["lk_label"] == ""


def _byo(tmp_path):
    config = tmp_path / "byo.yml"
    config.write_text(f"main_data: {tmp_path / 'table.csv'}\n")
    return load_profile("paper", config=str(config))


def test_the_report_says_why_where_no_clusters_are_known_and_handles_a_clean_test_set(tmp_path):
    byo = _byo(tmp_path)
    report = leakage.leakage_report(byo, pd.DataFrame(), pd.DataFrame())
    assert report.table is None and report.values == {} and report.leaking is None
    words = prose.leakage_sentences(byo, report)
    assert set(words) == {"lk_sentence", "lk_where", "lk_label"} and words["lk_label"] == ""
    assert "bring-your-own" in words["lk_sentence"]
    P = _paper(tmp_path, test_set="no-near-duplicates")
    leaking = leaking_test_ids(P)
    clean = [f"{i:032x}" for i in range(8)]
    frame, preds = _trials(set(), clean, seeds=(0,))
    report = leakage.leakage_report(P, frame, preds)
    assert report.values["lk_leaking"] == "0"
    assert "without near-duplicates" in prose.leakage_sentences(P, report)["lk_sentence"]
    assert report.table[report.table.test_set == "leaking"].gain.isna().all() and leaking


def _smoke_test_images(profile):
    from synthaug_utils.data.splits import load_splits

    return load_splits(profile, "main", 0).test


def test_the_stand_in_world_shows_its_planted_pairs_labelled_as_such(smoke_profile):
    from synthaug_utils.data import world

    leaking = leaking_test_ids(smoke_profile)
    planted = world.planted_counts(smoke_profile.world)
    assert len(leaking) == sum(planted.values()) > 0
    test = _smoke_test_images(smoke_profile)
    assert leaking <= set(test.image_id)
    images = sorted(test.image_id)
    frame, preds = _trials(set(leaking), images)
    report = leakage.leakage_report(smoke_profile, frame, preds)
    assert report.table is not None and report.shown is not None
    counts = report.table.groupby("test_set").images.max().to_dict()
    assert counts == {"authors": len(images), "no-near-duplicates": len(images) - len(leaking), "leaking": len(leaking)}
    values = {**report.values, **prose.leakage_sentences(smoke_profile, report)}
    assert values["lk_leaking"] == str(len(leaking)) and values["lk_images"] == str(len(images))
    assert (
        "planted" in values["lk_where"]
        and "not real" in values["lk_where"]
        and "stand-in world 'demo-derm9'" in values["lk_where"]
    )
    assert f"{len(leaking)} of its {len(images)} held-out images" in values["lk_where"]
    assert "planted" in values["lk_label"] and "stand-in world's test set" in values["lk_sentence"]
    assert any(c.startswith("stand-in world's test set") for c in report.shown.columns)
    assert "authors'" not in values["lk_sentence"]
