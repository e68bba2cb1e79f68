"""Near-duplicate audit of the authors' Fitzpatrick17k split files against the Fitzpatrick17k-C clusters.

The paper's F17k-9 set was cleaned with SelfClean and the authors' split files
(``fitzpatrick17k_10label_clean_training.csv``, ``..._held_out_set.csv``) are called de-duplicated.
Fitzpatrick17k-C (Abhishek, Jain and Hamarneh, Scientific Data 2025) published near-duplicate
clusters of the whole Fitzpatrick17k table (``complete_clusters.txt``). Both ship with the package
(``resources/f17k_metadata/``, README there: sources, licences, citations), so this audit runs on
every profile without images and without the dataset's own files.

Definitions, within one scope (the 10 labels of the split files, or F17k-9: the 9 most common labels
of the training file, chosen by :func:`synthaug_utils.data.tables.read_f17k` as everywhere else);
images of other labels are left out before anything is counted:

- **leaking**: a held-out image whose cluster holds at least one training image (cross-split leakage);
  **leaking, same label**: one whose cluster holds a training image of its own label;
- **redundant**: a training image whose cluster holds at least one other training image; a
  **redundant cluster** is a cluster holding two or more training images;
- **label-noise cluster**: a cluster whose members (training and held-out) carry two or more labels;
  it **crosses the split** when it holds members of both files.

Per-label rows count images by their own label; a cluster is counted for every label it holds, so
the per-label cluster counts can add up to more than the ``all labels`` row, which counts each
cluster once.
"""

from __future__ import annotations

import ast
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from synthaug_utils.core.errors import DataError
from synthaug_utils.core.paths import PACKAGE_DIR
from synthaug_utils.data.tables import F17K_TEST_FILE, F17K_TRAIN_FILE, read_f17k

RESOURCE_DIR = PACKAGE_DIR / "resources" / "f17k_metadata"

CLUSTER_FILE = "complete_clusters.txt"

# Columns of the authors' split files that the audit and Fig. 1A need; the shipped copies keep only
# these (the URL columns are most of the files' bytes).
SPLIT_COLUMNS = ("md5hash", "fitzpatrick_scale", "label")

# scope name -> number of most common training-file labels it keeps
SCOPES: dict[str, int] = {"F17k-9": 9, "10 labels": 10}

ALL_LABELS = "all labels"

SPLIT_NAMES = {"train": "training", "test": "held-out"}

FST_NAMES = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI", -1: "unknown"}

# The paper's F17k-9 counts (Fig. 1A; Sec. 2.1 and Sec. 4.1 of the text), verbatim in PAPER_F17K9_QUOTES.
PAPER_F17K9_COUNTS: dict[str, int] = {
    "psoriasis": 624,
    "squamous cell carcinoma": 480,
    "lichen planus": 452,
    "basal cell carcinoma": 446,
    "allergic contact dermatitis": 398,
    "lupus erythematosus": 337,
    "sarcoidosis": 326,
    "neutrophilic dermatoses": 324,
    "photodermatoses": 312,
}
PAPER_F17K9_TOTAL = 3699
PAPER_F17K9_QUOTES = (
    "psoriasis (624), squamous cell carcinoma (480), lichen planus (452), basal cell carcinoma (446), "
    "allergic contact dermatitis (398), lupus erythematosus (337), sarcoidosis (326), neutrophilic "
    "dermatoses (324), and photodermatoses (312), which we term the F17k-9 dataset (Figure1A)",
    "After filtering, selected conditions totaled 3,699 images (F17k-9).",
)

# Headers of the section's tables on the page: column -> (header, kind), kinds as in
# synthaug_utils.presentation.figures.COLUMNS ("percent": a proportion shown in %).
HEADERS: dict[str, tuple[str, str]] = {
    "scope": ("scope", ""),
    "label": ("label", ""),
    "training": ("training file", ""),
    "held_out": ("held-out file", ""),
    "total": ("total", ""),
    "paper": ("paper (Fig. 1A)", ""),
    "difference": ("total - paper", ""),
    "leaking": ("held-out, leaking", ""),
    "leaking_share": ("leaking share", "percent"),
    "leaking_same_label": ("leaking, same label", ""),
    "redundant": ("training, redundant", ""),
    "redundant_clusters": ("redundant clusters", ""),
    "noise_clusters": ("label-noise clusters", ""),
    "noise_cross_split": ("label noise across the split", ""),
    "cluster": ("line in complete_clusters.txt", ""),
    "members": ("labels per file", ""),
    "crosses_split": ("crosses the split", ""),
    "split": ("file", ""),
    "images": ("images", ""),
}

_CLUSTER_ID = re.compile(r"^(?P<abbreviation>[a-z0-9-]+)_f(?P<fst>[0-6])_(?P<index>\d+)_(?P<md5_prefix>[0-9a-f]{8})$")


# ----------------------------------------------------------------------------- clusters
@dataclass(frozen=True)
class ClusterMember:
    """One image id of ``complete_clusters.txt``: ``<label abbreviation>_f<FST, 0 = unknown>_<index>_<md5 prefix>``."""

    image_id: str
    abbreviation: str
    fst: int  # 1-6, or -1 for unknown (the id writes 0), as in the Fitzpatrick17k tables
    index: int
    md5_prefix: str


def parse_cluster_id(image_id: str) -> ClusterMember:
    """Split a Fitzpatrick17k-C image id into its parts (:class:`ClusterMember`)."""
    match = _CLUSTER_ID.match(str(image_id))
    if match is None:
        raise DataError(
            f"{image_id!r} is not a Fitzpatrick17k-C image id (<label abbreviation>_f<0-6>_<index>_<8 hex digits of "
            "md5>)"
        )
    fst = int(match["fst"])
    return ClusterMember(
        str(image_id), match["abbreviation"], fst if fst else -1, int(match["index"]), match["md5_prefix"]
    )


def parse_clusters(text: str, source: str = CLUSTER_FILE) -> pd.DataFrame:
    """One row per image of the cluster file ``text``: columns ``cluster`` (the line number, from 1),
    ``image_id``, ``abbreviation``, ``fst``, ``index``, ``md5_prefix``.

    Each non-blank line is a Python list of image ids, one cluster. Raises DataError naming the line
    when a line is not such a list, a cluster has fewer than two images, or an image (md5 prefix)
    stands in two clusters.
    """
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            members = ast.literal_eval(line.strip())
        except (ValueError, SyntaxError) as exc:
            raise DataError(f"{source} line {number}: not a Python list of image ids ({exc})") from None
        if not isinstance(members, (list, tuple)) or not all(isinstance(m, str) for m in members):
            raise DataError(f"{source} line {number}: not a list of image ids: {line.strip()[:80]!r}")
        if len(members) < 2:
            raise DataError(f"{source} line {number}: a cluster needs at least two images, it has {len(members)}")
        for image_id in members:
            member = parse_cluster_id(image_id)
            if member.md5_prefix in seen:
                raise DataError(
                    f"{source} line {number}: image {image_id!r} (md5 {member.md5_prefix}...) is already in the "
                    f"cluster of line {seen[member.md5_prefix]}"
                )
            seen[member.md5_prefix] = number
            rows.append({"cluster": number, **member.__dict__})
    columns = ["cluster", "image_id", "abbreviation", "fst", "index", "md5_prefix"]
    return pd.DataFrame(rows, columns=columns)


def read_clusters(path: str | Path | None = None) -> pd.DataFrame:
    """:func:`parse_clusters` of a cluster file (default: the shipped ``complete_clusters.txt``)."""
    path = Path(path) if path is not None else RESOURCE_DIR / CLUSTER_FILE
    if not path.is_file():
        raise DataError(f"cluster file {path} does not exist")
    return parse_clusters(path.read_text(encoding="utf-8"), source=path.name)


def attach_clusters(images: pd.DataFrame, clusters: pd.DataFrame) -> pd.DataFrame:
    """``images`` (column ``image_id`` = md5hash) with a column ``cluster`` (nullable integer, <NA> for an
    image in no cluster), matched on the md5 prefix of the cluster ids.

    Raises DataError when two images share an md5 prefix (the match would be ambiguous) or a cluster
    member that matches an image disagrees with it on the skin type.
    """
    prefix = images.image_id.astype(str).str[:8]
    clash = prefix[prefix.duplicated(keep=False)]
    if len(clash):
        first = images.image_id[prefix == clash.iloc[0]].tolist()
        raise DataError(f"images {first} share the md5 prefix {clash.iloc[0]}; cluster ids cannot tell them apart")
    by_prefix = clusters.set_index("md5_prefix")
    cluster = prefix.map(by_prefix.cluster).astype("Int64")
    if "fst" in images.columns:
        member_fst = prefix.map(by_prefix.fst)
        bad = member_fst.notna() & (member_fst != images.fst)
        if bad.any():
            i = bad.idxmax()
            raise DataError(
                f"image {images.at[i, 'image_id']} has skin type {images.at[i, 'fst']} but its cluster id says "
                f"{int(member_fst[i])}; the cluster file does not match these split files"
            )
    return images.assign(cluster=cluster)


# ----------------------------------------------------------------------------- the split files
def real_images(
    scope: str = "F17k-9", folder: str | Path = RESOURCE_DIR, clusters: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The authors' clean split files (shipped copies by default) for one scope of :data:`SCOPES`:
    columns ``image_id`` (md5hash), ``label``, ``fst``, ``split`` ("train" or "test", the held-out
    file) and ``cluster`` (:func:`attach_clusters`; ``clusters`` default: the shipped file)."""
    if scope not in SCOPES:
        raise DataError(f"unknown audit scope {scope!r}; known: {list(SCOPES)}")
    tables = read_f17k(None, folder, n_labels=SCOPES[scope])
    images = pd.concat([tables.pool, tables.test], ignore_index=True)[["image_id", "label", "fst", "split"]]
    return attach_clusters(images, read_clusters() if clusters is None else clusters)


def compact_split_csv(path: str | Path) -> str:
    """The columns :data:`SPLIT_COLUMNS` of a split file as CSV text, rows in the file's order with the
    values' text unchanged (what the package ships in ``resources/f17k_metadata/``)."""
    reader = csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8"), newline=""))
    header = next(reader)
    missing = [c for c in SPLIT_COLUMNS if c not in header]
    if missing:
        raise DataError(f"{path} lacks column(s) {missing}")
    keep = [header.index(c) for c in SPLIT_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SPLIT_COLUMNS)
    for row in reader:
        if row:
            writer.writerow([row[i] for i in keep])
    return out.getvalue()


def write_resources(f17k_dir: str | Path, clusters_file: str | Path, dest: str | Path = RESOURCE_DIR) -> Path:
    """Write the shipped copies into ``dest``: the two split files cut to :data:`SPLIT_COLUMNS` and the
    cluster file verbatim (the README there is written by hand)."""
    from synthaug_utils.core.files import atomic_write_bytes

    dest = Path(dest)
    for name in (F17K_TRAIN_FILE, F17K_TEST_FILE):
        atomic_write_bytes(dest / name, compact_split_csv(Path(f17k_dir) / name).encode("utf-8"))
    atomic_write_bytes(dest / CLUSTER_FILE, Path(clusters_file).read_bytes())
    return dest


# ----------------------------------------------------------------------------- the audit
def _cluster_facts(images: pd.DataFrame) -> pd.DataFrame:
    """Per cluster holding at least one image of ``images``: training and held-out members, labels."""
    member = images.dropna(subset=["cluster"])
    member = member.assign(is_train=member.split.eq("train"), is_test=member.split.eq("test"))
    return member.groupby("cluster").agg(
        training=("is_train", "sum"), held_out=("is_test", "sum"), n_labels=("label", "nunique")
    )


def audit_table(images: pd.DataFrame, scope: str = "") -> pd.DataFrame:
    """Per label and for ``all labels``: held-out images, leaking ones and their share, training images,
    redundant ones and their clusters, label-noise clusters and those crossing the split (definitions
    in the module docstring). ``images``: :func:`real_images` or the same columns."""
    facts = _cluster_facts(images)
    train_in = images.cluster.map(facts.training).fillna(0).astype(int)  # training images in the image's cluster
    is_train, is_test = images.split.eq("train"), images.split.eq("test")
    leaking = is_test & (train_in >= 1)
    training = images[is_train].dropna(subset=["cluster"])
    same_label = {(int(c), lab) for c, lab in zip(training.cluster, training.label)}
    leaking_same = leaking & pd.Series(
        [(int(c), lab) in same_label if pd.notna(c) else False for c, lab in zip(images.cluster, images.label)],
        index=images.index,
    )
    redundant = is_train & (train_in >= 2)
    redundant_clusters = set(facts.index[facts.training >= 2])
    noise = set(facts.index[facts.n_labels >= 2])
    crossing = set(facts.index[(facts.training >= 1) & (facts.held_out >= 1)])

    def row(label: str, mask: pd.Series) -> dict:
        sub = images[mask]
        clusters = set(sub.cluster.dropna().astype(int))
        train_clusters = set(sub[sub.split.eq("train")].cluster.dropna().astype(int))
        held_out = int((mask & is_test).sum())
        return {
            "scope": scope,
            "label": label,
            "held_out": held_out,
            "leaking": int((mask & leaking).sum()),
            "leaking_share": (mask & leaking).sum() / held_out if held_out else float("nan"),
            "leaking_same_label": int((mask & leaking_same).sum()),
            "training": int((mask & is_train).sum()),
            "redundant": int((mask & redundant).sum()),
            "redundant_clusters": len(train_clusters & redundant_clusters),
            "noise_clusters": len(clusters & noise),
            "noise_cross_split": len(clusters & noise & crossing),
        }

    labels = sorted(images.label.unique())
    rows = [row(label, images.label.eq(label)) for label in labels]
    rows.append(row(ALL_LABELS, pd.Series(True, index=images.index)))
    return pd.DataFrame(rows)


def leaking_ids(images: pd.DataFrame) -> frozenset[str]:
    """Image ids of the held-out images whose cluster holds a training image (the leaking ones)."""
    training = set(images.loc[images.split.eq("train"), "cluster"].dropna())
    held_out = images[images.split.eq("test") & images.cluster.notna()]
    return frozenset(held_out.image_id[held_out.cluster.isin(training)])


def label_noise_clusters(images: pd.DataFrame, scope: str = "") -> pd.DataFrame:
    """One row per label-noise cluster: its line in the cluster file, its members' labels per file
    (``training: A, B (2); held-out: C``: a count when a label has several members), and whether it
    crosses the split."""
    facts = _cluster_facts(images)
    rows = []
    for cluster in facts.index[facts.n_labels >= 2]:
        members = images[images.cluster == cluster]
        per_file = []
        for split, name in SPLIT_NAMES.items():
            counts = members[members.split == split].label.value_counts().sort_index()
            if len(counts):
                per_file.append(
                    f"{name}: " + ", ".join(lab + (f" ({n})" if n > 1 else "") for lab, n in counts.items())
                )
        rows.append(
            {
                "scope": scope,
                "cluster": int(cluster),
                "members": "; ".join(per_file),
                "crosses_split": bool(facts.training[cluster] >= 1 and facts.held_out[cluster] >= 1),
            }
        )
    return pd.DataFrame(rows, columns=["scope", "cluster", "members", "crosses_split"])


def fig1a_table(images: pd.DataFrame, paper: dict[str, int] = PAPER_F17K9_COUNTS) -> pd.DataFrame:
    """Per label (in the paper's order, then any other): training and held-out images, their total, the
    paper's Fig. 1A count and the difference (total minus paper); a last row ``all labels``."""
    counts = (
        images.groupby(["label", "split"]).size().unstack(fill_value=0).reindex(columns=["train", "test"], fill_value=0)
    )
    order = [lab for lab in paper if lab in counts.index] + sorted(set(counts.index) - set(paper))
    table = pd.DataFrame(
        {
            "label": order,
            "training": [int(counts.at[lab, "train"]) for lab in order],
            "held_out": [int(counts.at[lab, "test"]) for lab in order],
        }
    )
    table["total"] = table.training + table.held_out
    table["paper"] = [paper.get(lab) for lab in order]
    total = {
        "label": ALL_LABELS,
        "training": int(table.training.sum()),
        "held_out": int(table.held_out.sum()),
        "total": int(table.total.sum()),
        "paper": sum(paper.values()) if set(paper) <= set(order) else None,
    }
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    table["paper"] = table.paper.astype("Int64")
    table["difference"] = (table.total - table.paper).astype("Int64")
    return table


def fst_table(images: pd.DataFrame) -> pd.DataFrame:
    """Per split (training, held-out) and skin type (I-VI, unknown): images and their share of the split."""
    rows = []
    for split, name in SPLIT_NAMES.items():
        sub = images[images.split == split]
        for fst, fst_name in FST_NAMES.items():
            n = int((sub.fst == fst).sum())
            rows.append(
                {"split": name, "fst": fst_name, "count": n, "share": n / len(sub) if len(sub) else float("nan")}
            )
    return pd.DataFrame(rows)


def fst_wide(fst: pd.DataFrame) -> pd.DataFrame:
    """:func:`fst_table` as one row per split and one column per skin type, cells ``count (share %)``."""
    cells = fst.assign(cell=[f"{c} ({100 * s:.1f}%)" for c, s in zip(fst["count"], fst.share)])
    wide = cells.pivot(index="split", columns="fst", values="cell").reindex(index=list(SPLIT_NAMES.values()))
    wide = wide.reindex(columns=list(FST_NAMES.values())).reset_index()
    wide.columns.name = None
    wide.insert(1, "images", [int(fst[fst.split == s]["count"].sum()) for s in wide.split])
    return wide


# ----------------------------------------------------------------------------- the chapter's numbers
def _percent(x: float) -> str:
    return f"{100 * x:.1f}%"


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


@dataclass
class RealMetadataAudit:
    """Everything chapter 01's real-metadata section shows: Fig. 1A counts, the skin-type distribution
    per split, the audit per scope and label, the label-noise clusters, and the values to glue."""

    fig1a: pd.DataFrame
    fst: pd.DataFrame
    audit: pd.DataFrame
    noise: pd.DataFrame
    clusters: pd.DataFrame
    values: dict[str, str]


def audit_values(
    fig1a: pd.DataFrame, audit: pd.DataFrame, noise: pd.DataFrame, clusters: pd.DataFrame
) -> dict[str, str]:
    """The glue values of the real-metadata section (names ``real_*`` and ``audit_*``; ``audit10_*``
    for the 10-label scope)."""
    total = fig1a[fig1a.label == ALL_LABELS].iloc[0]
    per_label = fig1a[fig1a.label != ALL_LABELS]
    matched = int((per_label.difference == 0).sum())
    sizes = clusters.groupby("cluster").size()
    values = {
        "real_f17k9_images": f"{int(total.total):,}",
        "real_f17k9_training": f"{int(total.training):,}",
        "real_f17k9_held_out": f"{int(total.held_out):,}",
        "real_f17k9_paper": f"{PAPER_F17K9_TOTAL:,}",
        "real_fig1a_match": f"{matched} of {len(per_label)}",
        "audit_clusters": f"{sizes.size:,}",
        "audit_cluster_images": f"{int(sizes.sum()):,}",
        "audit_largest_cluster": str(int(sizes.max())),
    }
    for scope, prefix in (("F17k-9", "audit"), ("10 labels", "audit10")):
        rows = audit[audit.scope == scope]
        if rows.empty:
            continue
        everything = rows[rows.label == ALL_LABELS].iloc[0]
        labels = rows[rows.label != ALL_LABELS].sort_values(["leaking", "label"], ascending=[False, True])
        scope_noise = noise[noise.scope == scope]
        values.update(
            {
                f"{prefix}_held_out": str(int(everything.held_out)),
                f"{prefix}_leak_total": str(int(everything.leaking)),
                f"{prefix}_leak_share": _percent(everything.leaking_share),
                f"{prefix}_leak_by_label": "; ".join(
                    f"{r.label} {r.leaking} of {r.held_out}" for r in labels.itertuples()
                ),
                f"{prefix}_training": f"{int(everything.training):,}",
                f"{prefix}_redundant": str(int(everything.redundant)),
                f"{prefix}_redundant_clusters": str(int(everything.redundant_clusters)),
                f"{prefix}_redundant_extra": str(int(everything.redundant - everything.redundant_clusters)),
                f"{prefix}_leak_same_label": str(int(everything.leaking_same_label)),
                f"{prefix}_noise_clusters": str(int(everything.noise_clusters)),
                f"{prefix}_noise_cross_split": str(int(everything.noise_cross_split)),
                f"{prefix}_noise_list": ", ".join(f"line {r.cluster} ({r.members})" for r in scope_noise.itertuples())
                or "none",
            }
        )
        if scope == "F17k-9":
            values.update({f"audit_leak_{_slug(r.label)}": str(int(r.leaking)) for r in labels.itertuples()})
            worst = labels.iloc[0]
            values.update(audit_leak_max_label=worst.label, audit_leak_max=str(int(worst.leaking)))
    return values


def real_metadata_audit(folder: str | Path = RESOURCE_DIR, cluster_file: str | Path | None = None) -> RealMetadataAudit:
    """The real-metadata audit of chapter 01 (shipped files by default; metadata only, no image)."""
    clusters = read_clusters(cluster_file)
    scoped = {scope: real_images(scope, folder, clusters) for scope in SCOPES}
    f17k9 = scoped["F17k-9"]
    audit = pd.concat([audit_table(images, scope) for scope, images in scoped.items()], ignore_index=True)
    noise = pd.concat([label_noise_clusters(images, scope) for scope, images in scoped.items()], ignore_index=True)
    fig1a = fig1a_table(f17k9)
    return RealMetadataAudit(
        fig1a, fst_table(f17k9), audit, noise, clusters, audit_values(fig1a, audit, noise, clusters)
    )
