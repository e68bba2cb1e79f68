"""Prompts, per-image seeds and slugs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

PROMPT_TEMPLATE = "An image of {label}, a skin disease"

FST_SUFFIX = ", Fitzpatrick skin type {fst}"


def prompt_for(label: str, fst: int | None = None, template: str = PROMPT_TEMPLATE) -> str:
    """``template`` with ``label``; with ``fst`` the suffix ``, Fitzpatrick skin type {n}``.

    FST -1 reads ``unknown`` (as the authors' code); DDI skin-tone bins 12/34/56 read ``1-2`` etc.
    """
    text = template.format(label=label)
    if fst is None:
        return text
    fst = int(fst)
    if fst in (12, 34, 56):
        name = f"{fst // 10}-{fst % 10}"
    elif 1 <= fst <= 6:
        name = str(fst)
    else:
        name = "unknown"
    return text + FST_SUFFIX.format(fst=name)


def prompt_label(row: Mapping[str, Any]) -> str:
    """The disease name a prompt uses: the ``disease`` column when present (DDI; hyphens read as
    spaces, as in the authors' code), else ``label``."""
    disease = row.get("disease")
    if isinstance(disease, str) and disease.strip():
        return disease.replace("-", " ")
    return str(row["label"])


def derive_seed(source_id: str, method: str, variant: str, index: int) -> int:
    """A 63-bit seed from (source id, method, variant, index); independent of batches and order."""
    text = f"{source_id}\x1f{method}\x1f{variant}\x1f{int(index)}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") & (2**63 - 1)


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (labels, ids)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"
