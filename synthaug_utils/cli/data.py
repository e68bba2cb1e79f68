"""``synthaug data``."""

from __future__ import annotations

import json

from synthaug_utils.core.config import byo_dataset_name, load_profile
from synthaug_utils.core.errors import DataError
from synthaug_utils.data.byo import read_byo, read_byo_binary
from synthaug_utils.data.groups import group_of
from synthaug_utils.data.splits import dataset_tables, make_splits
from synthaug_utils.data.summary import composition, dataset_capabilities
from synthaug_utils.data.tables import read_ddi, read_f17k


# ----------------------------------------------------------------------------- CLI
def _byo_tables(args, P):
    """The bring-your-own tables of ``--source`` with the profile's sizes and grouping (command-line sizes win)."""
    if not args.source:
        raise DataError(f"--dataset {args.dataset} needs --source PATH (a CSV table, or for byo a folder per class)")
    near = P.group_near_duplicates
    if args.dataset == "byo":
        return read_byo(
            args.source,
            P.test_per_label if args.test_per_label is None else args.test_per_label,
            val_per_label=P.val_per_label if args.val_per_label is None else args.val_per_label,
            min_images_per_label=P.min_images_per_label
            if args.min_images_per_label is None
            else args.min_images_per_label,
            name=byo_dataset_name(args.source, group_near_duplicates=near),
            group_near_duplicates=near,
        )
    return read_byo_binary(
        args.source,
        P.ddi_per_bin,
        name=byo_dataset_name(args.source, "byo-binary", group_near_duplicates=near),
        group_near_duplicates=near,
    )


def _cmd_summary(args) -> int:
    if args.dataset in ("byo", "byo-binary"):
        tables = _byo_tables(args, load_profile(args.profile, args.config))
    elif args.dataset == "f17k9":
        if not args.splits:
            raise DataError("--dataset f17k9 needs --splits FOLDER (the clean split files); --metadata is optional")
        tables = read_f17k(args.metadata, args.splits, None)
    elif args.dataset == "ddi":
        if not args.metadata:
            raise DataError("--dataset ddi needs --metadata ddi_metadata.csv")
        tables = read_ddi(args.metadata)
    else:
        tables = dataset_tables(load_profile(args.profile, args.config), "main" if args.dataset == "profile" else "ddi")
    summary = composition(tables)
    if args.dataset in ("byo", "byo-binary"):
        caps = dataset_capabilities(tables)
        summary.update(dataset=tables.name, has_fst=caps.has_fst, dropped=[list(d) for d in caps.dropped])
    if args.json:
        print(json.dumps(summary, indent=None))
    else:
        for label, row in summary["labels"].items():
            print(f"{label:32s} train_pool={row['train_pool']:5d} test={row['test']:4d} fst={row['fst']}")
        print(f"total={summary['total']}")
        if summary.get("dropped"):
            print("dropped (min_images_per_label): " + ", ".join(f"{label} ({n})" for label, n in summary["dropped"]))
    return 0


def _cmd_split(args) -> int:
    P = load_profile(args.profile, args.config)
    if args.dataset in ("byo", "byo-binary"):
        tables, which = _byo_tables(args, P), "main" if args.dataset == "byo" else "ddi"
    else:
        which = "main" if args.dataset == "profile" else "ddi"
        tables = dataset_tables(P, which)
    if which == "ddi":
        per = P.ddi_per_bin
        splits = make_splits(tables, per, args.split_seed, test_per_group=per)
    else:
        val = P.val_per_label if args.val_per_label is None else args.val_per_label
        splits = make_splits(tables, val, args.split_seed)
    rows = splits.all()
    groups = group_of(rows, tables.meta.get("groups"))
    out = [
        {"path": path, "image_id": image_id, "label": label, "group": group, "split": split}
        for path, image_id, label, group, split in zip(rows.path, rows.image_id, rows.label, groups, rows.split)
    ]
    split_order = {"train": 0, "val": 1, "test": 2}
    out.sort(key=lambda r: (split_order[r["split"]], r["label"], r["image_id"]))
    if args.json:
        print(
            json.dumps(
                {
                    "dataset": tables.name,
                    "split_seed": int(args.split_seed),
                    "grouping": tables.meta.get("grouping", "none"),
                    # a test set given by the data (a split column, a held-out file, or byo's one draw) is the same
                    # for every split seed
                    "test_set": "fixed" if tables.test is not None else "per split seed",
                    "counts": {
                        s: {
                            "images": sum(r["split"] == s for r in out),
                            "groups": len({r["group"] for r in out if r["split"] == s}),
                        }
                        for s in split_order
                    },
                    "rows": out,
                }
            )
        )
    else:
        import csv
        import sys

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["path", "image_id", "label", "group", "split"])
        writer.writerows([r["path"], r["image_id"], r["label"], r["group"], r["split"]] for r in out)
    return 0


def register_cli(subparsers) -> None:
    """``synthaug data summary``: dataset composition from metadata only; ``synthaug data split``: every row's split."""
    data = subparsers.add_parser("data", help="dataset metadata: composition, splits")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    summary = sub.add_parser(
        "summary",
        help="label and FST counts from metadata (no images needed, except that bring-your-own "
        "images are hashed to group near-duplicates)",
    )
    summary.add_argument(
        "--dataset",
        choices=["f17k9", "ddi", "byo", "byo-binary", "profile", "profile-ddi"],
        default="f17k9",
        help="byo: your own table (path,label[,fst][,split]) or folder per class; byo-binary: a "
        "two-label table with fst for the DDI slot; profile / profile-ddi: the profile's datasets",
    )
    summary.add_argument("--metadata", help="fitzpatrick17k.csv or ddi_metadata.csv")
    summary.add_argument("--splits", help="folder with the clean Fitzpatrick17k split files")
    summary.add_argument("--source", help="with --dataset byo / byo-binary: the CSV table or class-folder tree")
    summary.add_argument(
        "--test-per-label",
        type=int,
        default=None,
        help="byo without a split column: test images per label (default: the profile's)",
    )
    summary.add_argument(
        "--val-per-label", type=int, default=None, help="byo: validation images per label (default: the profile's)"
    )
    summary.add_argument(
        "--min-images-per-label",
        type=int,
        default=None,
        help="byo: drop labels with fewer images (default: the profile's)",
    )
    summary.add_argument("--profile", default="demo", help="with --dataset profile / profile-ddi")
    summary.add_argument("--config", default=None, help="YAML config file with data locations")
    summary.add_argument("--json", action="store_true", help="print one JSON object")
    summary.set_defaults(func=_cmd_summary)

    split = sub.add_parser(
        "split",
        help="every row's path, label, group and split (train/val/test) for one split seed, as the trials draw them",
    )
    split.add_argument(
        "--dataset",
        choices=["byo", "byo-binary", "profile", "profile-ddi"],
        default="byo",
        help="byo: your own table or class folders; byo-binary: a two-label table for the DDI slot; "
        "profile / profile-ddi: the profile's datasets",
    )
    split.add_argument("--source", help="with --dataset byo / byo-binary: the CSV table or class-folder tree")
    split.add_argument(
        "--split-seed",
        type=int,
        default=0,
        help="the split seed whose validation (and DDI test) draw is shown (default 0)",
    )
    split.add_argument(
        "--test-per-label",
        type=int,
        default=None,
        help="byo without a split column: test images per label (default: the profile's)",
    )
    split.add_argument(
        "--val-per-label", type=int, default=None, help="byo: validation images per label (default: the profile's)"
    )
    split.add_argument(
        "--min-images-per-label",
        type=int,
        default=None,
        help="byo: drop labels with fewer images (default: the profile's)",
    )
    split.add_argument("--profile", default="paper", help="profile whose sizes and grouping apply (default paper)")
    split.add_argument("--config", default=None, help="YAML config file with data locations and overrides")
    split.add_argument(
        "--json", action="store_true", help="print one JSON object (else CSV: path,image_id,label,group,split)"
    )
    split.set_defaults(func=_cmd_split)
    data.set_defaults(func=lambda args: data.print_help() or 2)
