"""The authors' released WebDataset shards as a manifest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image

from synthaug_utils.core.errors import DataError
from synthaug_utils.core.files import atomic_write_bytes, folder_lock
from synthaug_utils.core.vocabulary import VARIANTS
from synthaug_utils.diffusion.prompts import prompt_for, slug
from synthaug_utils.synthetic.generate import valid_png
from synthaug_utils.synthetic.manifest import write_manifest

# ----------------------------------------------------------------------------- released WebDataset shards
_RELEASED_SUBMETHOD = {"text-to-image": "text-to-image", "inpaint": "inpaint", "inpaint-outpaint": "in-then-outpaint"}

RELEASED_METHODS = tuple(_RELEASED_SUBMETHOD.values())
"""The methods the authors released images of (no outpaint-only images)."""

RELEASED_VARIANTS = VARIANTS
"""The generator variants of the release (``pretrained_*`` and ``finetune_*`` runs)."""


def _iter_shards(shards: Sequence[str | Path]) -> Iterator[dict]:
    """Samples ``{'__key__', 'png', 'json'}`` of WebDataset tar shards, in shard order."""
    import webdataset as wds

    urls = [str(s) for s in shards]
    dataset = wds.WebDataset(urls, shardshuffle=False, empty_check=False)
    yield from dataset


def release_key(shards: str | Path | Sequence[str | Path]) -> str:
    """Short identity (12 hex) of a set of shards: their names and sizes (cheap: the images are not read)."""
    files = _expand_shards(shards)
    listing = "|".join(f"{f.name}:{f.stat().st_size}" for f in files)
    return hashlib.sha256(listing.encode()).hexdigest()[:12]


def _expand_shards(shards: str | Path | Sequence[str | Path]) -> list[Path]:
    if isinstance(shards, (str, Path)):
        p = Path(shards)
        found = (
            sorted(p.glob("*.tar"))
            if p.is_dir()
            else sorted(Path(p.parent).glob(p.name))
            if any(c in p.name for c in "*?[")
            else [p]
        )
    else:
        found = [Path(s) for s in shards]
    missing = [str(p) for p in found if not p.is_file()]
    if not found or missing:
        raise DataError(f"no WebDataset shards found at {shards}" + (f"; missing: {missing[:3]}" if missing else ""))
    return found


def manifest_from_webdataset(
    shards: str | Path | Sequence[str | Path],
    out_dir: str | Path,
    methods: Sequence[str] = ("text-to-image", "inpaint", "in-then-outpaint"),
    variants: Sequence[str] = VARIANTS,
    sources: pd.DataFrame | None = None,
    splits=None,
    progress: bool = True,
) -> Path:
    """Unpack the authors' released synthetic images into ``out_dir`` and write its manifest.

    Shard samples hold ``png`` and ``json`` (name, md5hash, label, method, submethod,
    generation_num, tag); keys read ``{label}_{method}_{submethod}_{tag}_{gen}_{md5}``.
    ``method`` 'finetune_*' -> variant dreambooth, 'pretrained_*' -> pretrained; submethod
    'text-to-image', 'inpaint' and 'inpaint-outpaint' (-> in-then-outpaint; its
    inpaint-stage rows come from the 'inpaint' images of the same run). ``index`` ranks
    a source's images by (tag, generation_num). With ``sources``, md5hash (or file stem)
    maps to image_id, label and fst; images of other sources are skipped. With
    ``splits``, validation/test sources are refused. Seeds are unknown (-1).
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    files = _expand_shards(shards)
    lookup: dict[str, Mapping[str, Any]] = {}
    if sources is not None:
        for rec in sources.to_dict("records"):
            lookup[str(rec["image_id"])] = rec
            lookup.setdefault(Path(str(rec["image_id"])).stem, rec)
    wanted_sub = {"text-to-image"} if "text-to-image" in methods else set()
    if "inpaint" in methods or "in-then-outpaint" in methods:
        wanted_sub.add("inpaint")
    if "in-then-outpaint" in methods:
        wanted_sub.add("inpaint-outpaint")
    records = []
    with folder_lock(out_dir):
        for sample in tqdm(
            _iter_shards(files), desc="reading released shards", unit="img", disable=not progress, mininterval=2
        ):
            try:
                meta = json.loads(sample["json"])
            except (KeyError, json.JSONDecodeError) as exc:
                raise DataError(f"shard sample {sample.get('__key__')!r} has no readable json ({exc})") from exc
            absent = [k for k in ("md5hash", "label", "method", "submethod", "generation_num") if k not in meta]
            if absent or "png" not in sample:
                raise DataError(f"shard sample {sample.get('__key__')!r} lacks {absent or ['png']}")
            sub = meta["submethod"]
            if sub not in _RELEASED_SUBMETHOD:
                raise DataError(f"shard sample {sample['__key__']!r}: unknown submethod {sub!r}")
            variant = "dreambooth" if str(meta["method"]).startswith("finetune") else "pretrained"
            if sub not in wanted_sub or variant not in variants:
                continue
            md5 = str(meta["md5hash"])
            source = lookup.get(md5)
            if sources is not None and source is None:
                continue
            method = _RELEASED_SUBMETHOD[sub]
            rel = (
                f"images/{variant}/{method}/{slug(meta.get('tag', 'x'))}-{slug(meta['generation_num'])}/{slug(md5)}.png"
            )
            target = out_dir / rel
            if not valid_png(target, None):
                atomic_write_bytes(target, sample["png"])
            with Image.open(target) as img:
                resolution = img.size[0]
            label = str(source["label"]) if source is not None else str(meta["label"]).replace("-", " ")
            records.append(
                dict(
                    key=sample["__key__"],
                    source_id=str(source["image_id"]) if source is not None else md5,
                    label=label,
                    fst=int(source["fst"]) if source is not None else -1,
                    method=method,
                    variant=variant,
                    order=(str(meta.get("tag", "")), str(meta["generation_num"])),
                    resolution=resolution,
                    model_id=f"released:manrai/synthetic-derm/{meta['method']}",
                    path=rel,
                )
            )
        table = pd.DataFrame(records)
        if not len(table):
            raise DataError(
                f"no released images matched methods {list(methods)} / variants {list(variants)} in {len(files)} "
                "shard(s)"
            )
        if splits is not None:
            from synthaug_utils.data.splits import assert_no_leakage

            assert_no_leakage(table.source_id, splits, context=f"released synthetic images from {files[0].parent}")
        table = table.sort_values(["variant", "method", "source_id", "order"]).reset_index(drop=True)
        table["index"] = table.groupby(["variant", "method", "source_id"]).cumcount()
        rows = []
        strength = {"text-to-image": 1.0, "inpaint": 0.97, "in-then-outpaint": 0.95}
        mask = {"text-to-image": "none", "inpaint": "center", "in-then-outpaint": "outer"}
        for r in table.itertuples():
            base = dict(
                source_id=r.source_id,
                label=r.label,
                fst=r.fst,
                variant=r.variant,
                index=int(r.index),
                seed=-1,
                model_id=r.model_id,
                model_hash="",
                steps=50,
                guidance_scale=3.0,
                resolution=r.resolution,
                prompt=prompt_for(r.label),
                path=r.path,
            )
            targets = []
            if r.method != "inpaint" or "inpaint" in methods:
                targets.append((r.method, "final"))
            if r.method == "inpaint" and "in-then-outpaint" in methods:
                targets.append(("in-then-outpaint", "inpaint"))
            for method, stage in targets:
                m = "inpaint" if stage == "inpaint" else method
                rows.append(
                    {
                        **base,
                        "method": method,
                        "stage": stage,
                        "strength": strength[m],
                        "mask": mask[m],
                        "synthetic_id": f"released/{r.variant}/{method}/{stage}/{int(r.index):03d}/{r.source_id}",
                    }
                )
        return write_manifest(out_dir, pd.DataFrame(rows))
