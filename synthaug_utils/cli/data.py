"""``synthaug data``.
"""
from __future__ import annotations

import json

from synthaug_utils.core.config import byo_dataset_name, load_profile
from synthaug_utils.core.errors import DataError
from synthaug_utils.data.byo import read_byo, read_byo_binary
from synthaug_utils.data.splits import dataset_tables
from synthaug_utils.data.summary import composition, dataset_capabilities
from synthaug_utils.data.tables import read_ddi, read_f17k


# ----------------------------------------------------------------------------- CLI
def _cmd_summary(args) -> int:
    if args.dataset in ("byo", "byo-binary"):
        if not args.source:
            raise DataError(f"--dataset {args.dataset} needs --source PATH (a CSV table, or for byo a folder per class)")
        P = load_profile(args.profile, args.config)
        if args.dataset == "byo":
            tables = read_byo(
                args.source,
                P.test_per_label if args.test_per_label is None else args.test_per_label,
                val_per_label=P.val_per_label if args.val_per_label is None else args.val_per_label,
                min_images_per_label=P.min_images_per_label if args.min_images_per_label is None else args.min_images_per_label,
                name=byo_dataset_name(args.source),
            )
        else:
            tables = read_byo_binary(args.source, P.ddi_per_bin, name=byo_dataset_name(args.source, "byo-binary"))
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


def register_cli(subparsers) -> None:
    """``synthaug data summary``: dataset composition from metadata only."""
    data = subparsers.add_parser("data", help="dataset metadata: composition, splits")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    summary = sub.add_parser("summary", help="label and FST counts from metadata (no images needed)")
    summary.add_argument("--dataset", choices=["f17k9", "ddi", "byo", "byo-binary", "profile", "profile-ddi"], default="f17k9",
                         help="byo: your own table (path,label[,fst][,split]) or folder per class; byo-binary: a "
                              "two-label table with fst for the DDI slot; profile / profile-ddi: the profile's datasets")
    summary.add_argument("--metadata", help="fitzpatrick17k.csv or ddi_metadata.csv")
    summary.add_argument("--splits", help="folder with the clean Fitzpatrick17k split files")
    summary.add_argument("--source", help="with --dataset byo / byo-binary: the CSV table or class-folder tree")
    summary.add_argument("--test-per-label", type=int, default=None, help="byo without a split column: test images per label (default: the profile's)")
    summary.add_argument("--val-per-label", type=int, default=None, help="byo: validation images per label (default: the profile's)")
    summary.add_argument("--min-images-per-label", type=int, default=None, help="byo: drop labels with fewer images (default: the profile's)")
    summary.add_argument("--profile", default="demo", help="with --dataset profile / profile-ddi")
    summary.add_argument("--config", default=None, help="YAML config file with data locations")
    summary.add_argument("--json", action="store_true", help="print one JSON object")
    summary.set_defaults(func=_cmd_summary)
    data.set_defaults(func=lambda args: data.print_help() or 2)
