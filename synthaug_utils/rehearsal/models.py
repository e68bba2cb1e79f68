"""Shrunk Stable Diffusion folders, classifier weights and the open_clip checkpoint."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from synthaug_utils.core.files import atomic_write, atomic_write_bytes
from synthaug_utils.rehearsal.common import (
    BYO_LABELS,
    DDI_BENIGN,
    DDI_MALIGNANT,
    SD_CONFIG_DIR,
    completed_output,
    is_complete,
    mark_complete,
    say,
    stable_int,
)

# How the Stable Diffusion architectures are shrunk (everything else is the real config).
SD_SHRINK = {
    "unet_block_out_channels": (32, 64),  # SD: (320, 640, 1280, 1280)
    "unet_layers_per_block": 1,  # SD: 2
    "unet_heads": (2, 4),  # per level (diffusers' attention_head_dim); SD 2.1: (5, 10, 20, 20), SD 1.5: 8
    "vae_block_out_channels": (32, 32, 64, 64),  # SD: (128, 256, 512, 512); 4 levels keep the factor 8
    "vae_layers_per_block": 1,  # SD: 2
    "text_hidden": 32,  # SD 2.1: 1024, SD 1.5: 768
    "text_layers": 2,  # SD 2.1: 23, SD 1.5: 12
    "text_heads": 2,
    "max_tokens": 77,  # as SD
    "image_size": 64,  # px; the UNet's sample_size is image_size // 8
}


# ----------------------------------------------------------------------------- Stable Diffusion
def prompt_words(labels: Iterable[str] = ()) -> list[str]:
    """Vocabulary words of the rehearsal tokenizer: the demo generator's prompt words (template,
    FST suffix, F17k-9 and DDI names), the words of ``labels``, the bring-your-own labels and the
    generated DDI disease names. Other words tokenize character by character (never an error)."""
    from synthaug_utils.diffusion.demo_model import PROMPT_WORDS

    extra = " ".join([*labels, *BYO_LABELS, *DDI_BENIGN, *DDI_MALIGNANT, "skin disease fitzpatrick type"])
    words = list(PROMPT_WORDS) + extra.replace("-", " ").replace(",", " ").lower().split()
    return list(dict.fromkeys(words))


def _sd_components(name: str, tokenizer, seed: int) -> dict:
    """Randomly initialised components of SD architecture ``name`` ('sd21_base' or 'sd15_inpaint'),
    shrunk per :data:`SD_SHRINK` from the real configs in ``resources/sd_configs/<name>``."""
    import torch
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    cfg_dir = SD_CONFIG_DIR / name
    s = SD_SHRINK
    n = len(s["unet_block_out_channels"])
    unet_cfg = json.loads((cfg_dir / "unet" / "config.json").read_text())
    downs, ups = unet_cfg["down_block_types"], unet_cfg["up_block_types"]
    unet_cfg.update(
        block_out_channels=list(s["unet_block_out_channels"]),
        down_block_types=downs[: n - 1] + downs[-1:],  # cross-attention levels, then the plain one
        up_block_types=ups[:1] + ups[len(ups) - n + 1 :],
        layers_per_block=s["unet_layers_per_block"],
        cross_attention_dim=s["text_hidden"],
        attention_head_dim=list(s["unet_heads"])
        if isinstance(unet_cfg["attention_head_dim"], list)
        else s["unet_heads"][0],
        sample_size=s["image_size"] // 8,
    )
    vae_cfg = json.loads((cfg_dir / "vae" / "config.json").read_text())
    vae_cfg.update(
        block_out_channels=list(s["vae_block_out_channels"]),
        layers_per_block=s["vae_layers_per_block"],
        sample_size=s["image_size"],
    )
    text_cfg = json.loads((cfg_dir / "text_encoder" / "config.json").read_text())
    for key in ("architectures", "model_type"):
        text_cfg.pop(key, None)
    text_cfg.update(
        vocab_size=len(tokenizer),
        hidden_size=s["text_hidden"],
        intermediate_size=4 * s["text_hidden"],
        projection_dim=s["text_hidden"],
        num_hidden_layers=s["text_layers"],
        num_attention_heads=s["text_heads"],
        max_position_embeddings=s["max_tokens"],
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    sched_cfg = json.loads((cfg_dir / "scheduler" / "scheduler_config.json").read_text())
    torch.manual_seed(stable_int(seed, name, "unet"))
    unet = UNet2DConditionModel(**{k: v for k, v in unet_cfg.items() if not k.startswith("_")})
    torch.manual_seed(stable_int(seed, name, "vae"))
    vae = AutoencoderKL(**{k: v for k, v in vae_cfg.items() if not k.startswith("_")})
    torch.manual_seed(stable_int(seed, name, "text_encoder"))
    text_encoder = CLIPTextModel(CLIPTextConfig(**text_cfg))
    scheduler = DPMSolverMultistepScheduler.from_config(sched_cfg)  # the real (PNDM) schedule, as DPM-Solver
    return {"vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer, "unet": unet, "scheduler": scheduler}


def _real_tokenizer_folder(folder: Path, source: Path) -> None:
    """Make ``folder`` hold what the real SD tokenizer folders hold: ``vocab.json``,
    ``merges.txt``, ``tokenizer_config.json`` and ``special_tokens_map.json`` (here the files
    :func:`~synthaug_utils.diffusion.demo_model.build_tokenizer_files` wrote into ``source``), not
    the ``tokenizer.json`` that ``save_pretrained`` of transformers 5 writes instead."""
    shutil.rmtree(folder)
    shutil.copytree(source, folder)


def _readable(folder: Path) -> None:
    """chmod 644 every file under ``folder`` (safetensors writes its files 600)."""
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(0o644)


def write_sd_folders(
    out: str | Path, seed: int = 0, labels: Iterable[str] = (), progress: bool = False
) -> dict[str, Path]:
    """Write ``out/models/sd21_base`` (StableDiffusionPipeline, UNet with 4 input channels) and
    ``out/models/sd15_inpaint`` (StableDiffusionInpaintPipeline, 9 input channels) with
    ``save_pretrained``: the real component classes (AutoencoderKL, UNet2DConditionModel,
    CLIPTextModel, CLIPTokenizer, DPMSolverMultistepScheduler), the real configs shrunk per
    :data:`SD_SHRINK` (VAE factor 8 kept: 64 px images <-> 8 x 8 x 4 latents), random
    float32 weights seeded by ``seed``, safetensors; ``model_index.json`` with
    safety_checker and feature_extractor null. The tokenizer's ``vocab.json`` / ``merges.txt``
    are written by :func:`synthaug_utils.diffusion.demo_model.build_tokenizer_files` over
    :func:`prompt_words` (``labels`` adds words). Returns {name: folder}.
    """
    root = Path(out).resolve()
    folders = {"sd21_base": root / "models" / "sd21_base", "sd15_inpaint": root / "models" / "sd15_inpaint"}
    words = prompt_words(labels)
    params = {"seed": int(seed), "words": stable_int(" ".join(words)), "shrink": json.dumps(SD_SHRINK, sort_keys=True)}
    if is_complete(root, "sd", params, [f / "model_index.json" for f in folders.values()]):
        return folders
    import torch

    from synthaug_utils.diffusion.demo_model import build_tokenizer_files, load_tokenizer, save_pipeline_folder
    from synthaug_utils.diffusion.pipelines import quiet_loading

    began = time.perf_counter()
    tok_dir = root / "models" / f".tokenizer.tmp-{os.getpid()}"
    shutil.rmtree(tok_dir, ignore_errors=True)
    try:
        build_tokenizer_files(tok_dir, words=words, max_tokens=SD_SHRINK["max_tokens"])
        tokenizer = load_tokenizer(tok_dir)
        for name, kind in (("sd21_base", "text2image"), ("sd15_inpaint", "inpaint")):
            with quiet_loading():
                components = _sd_components(name, tokenizer, seed)
            save_pipeline_folder(components, kind, folders[name], dtype=torch.float32)
            _real_tokenizer_folder(folders[name] / "tokenizer", tok_dir)
            _readable(folders[name])
            note = {
                "what": f"synthaug rehearsal: the {name} architecture with widths shrunk, random weights",
                "shrink": SD_SHRINK,
                "seed": int(seed),
            }
            (folders[name] / "rehearsal.json").write_text(json.dumps(note, indent=2, sort_keys=True) + "\n")
    finally:
        shutil.rmtree(tok_dir, ignore_errors=True)
    mark_complete(root, "sd", params)
    say(progress, f"Stable Diffusion folders ({time.perf_counter() - began:.1f} s)")
    return folders


# ----------------------------------------------------------------------------- classifier, CLIP
def classifier_weights_name(arch: str) -> str:
    """File name torchvision uses for ``arch``'s DEFAULT ImageNet weights (e.g.
    ``efficientnet_b0_rwightman-7f5810bc.pth``)."""
    import torchvision

    return Path(torchvision.models.get_model_weights(arch).DEFAULT.url).name


def write_classifier_weights(
    out: str | Path, arch: str = "efficientnet_b0", seed: int = 0, progress: bool = False
) -> Path:
    """Write ``out/models/<torchvision file name of arch's DEFAULT weights>``: the state dict of a
    randomly initialised (seeded) torchvision ``arch`` with its 1000-way head, float32,
    ``torch.save`` format (loads with ``torch.load(weights_only=True)``). Returns the path."""
    root = Path(out).resolve()
    params = {"seed": int(seed), "arch": arch}
    done = completed_output(root, f"classifier-{arch}", params)
    if done is not None:
        return done
    import torch
    import torchvision

    path = root / "models" / classifier_weights_name(arch)
    began = time.perf_counter()
    torch.manual_seed(stable_int(seed, "classifier", arch))
    model = torchvision.models.get_model(arch, weights=None)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    atomic_write_bytes(path, buf.getvalue())
    mark_complete(root, f"classifier-{arch}", params, output=path)
    say(progress, f"classifier weights {path.name} ({time.perf_counter() - began:.1f} s)")
    return path


def write_open_clip_checkpoint(
    out: str | Path, arch: str = "ViT-B-32", seed: int = 0, dtype: str = "float16", progress: bool = False
) -> Path:
    """Write ``out/models/open_clip_<arch>.safetensors``: the state dict of a randomly initialised
    (seeded) open_clip model ``arch`` (both towers; ViT-B-32: 151 M parameters, 512-d
    embeddings), as ``dtype`` tensors (float16 by default, about 300 MB for ViT-B-32, as OpenAI
    released its weights; open_clip casts them into its float32 model on load). Returns the path."""
    root = Path(out).resolve()
    path = root / "models" / f"open_clip_{arch}.safetensors"
    params = {"seed": int(seed), "arch": arch, "dtype": dtype}
    if is_complete(root, f"clip-{arch}", params, [path]):
        return path
    import open_clip
    import torch
    from safetensors.torch import save_file

    began = time.perf_counter()
    torch.manual_seed(stable_int(seed, "open_clip", arch))
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # open_clip warns that no pretrained weights were loaded: intended
    try:
        model = open_clip.create_model(arch, pretrained=None)
    finally:
        logging.disable(previous)
    state = {k: v.detach().to(getattr(torch, dtype)).contiguous() for k, v in model.state_dict().items()}
    del model

    def write(tmp: Path) -> None:
        save_file(state, str(tmp), metadata={"format": "pt"})
        tmp.chmod(0o644)

    atomic_write(path, write)
    mark_complete(root, f"clip-{arch}", params)
    say(progress, f"open_clip checkpoint {path.name} ({time.perf_counter() - began:.1f} s)")
    return path
