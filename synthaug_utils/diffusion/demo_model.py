"""The demo latent diffusion model: architecture, tokenizer, components, pipeline folders.

The embedded demo generator is a small latent diffusion model of the Stable Diffusion architecture.

No Stable Diffusion weights exist offline, so the demo and smoke profiles use a model
that the project builds (here) and pretrains itself (:mod:`synthaug_utils.diffusion.demo_pretrain`), on the demo world's
pretraining pool
(:func:`synthaug_utils.data.splits.pretrain_pool`, images never used by the experiments) -
the analogue of Stable Diffusion's web-scale pretraining. Every part is the real
diffusers / transformers class, so the generation and DreamBooth code paths are the
ones the paper profile runs with Stable Diffusion:

- ``vae``: :class:`diffusers.AutoencoderKL`, 64 px RGB <-> 16 x 16 x 4 latents (factor 4; SD: 8);
- ``text_encoder``: :class:`transformers.CLIPTextModel` built from a small config;
- ``tokenizer``: :class:`transformers.CLIPTokenizer` with a vocabulary written here
  (:func:`build_tokenizer_files`): every word of the prompt vocabulary is one BPE
  token, any other word falls back to characters;
- ``unet``: :class:`diffusers.UNet2DConditionModel` (4 input channels for
  text-to-image; 9 = latents + mask + masked-image latents for inpainting, initialised
  from the text-to-image UNet with zero weights on the 5 new channels, as SD-inpainting was);
- ``scheduler``: DPMSolverMultistep with Stable Diffusion's noise schedule.

The two assembled folders are real ``StableDiffusionPipeline`` /
``StableDiffusionInpaintPipeline`` folders (``model_index.json`` + subfolders,
safetensors weights). Pretrained weights ship in ``synthaug_utils/resources/demo_ldm/``
(float16, about 17 MB for both pipelines) so the book never pretrains; they are reproduced by::

    synthaug pretrain-generator --profile demo --out synthaug_utils/resources/demo_ldm

Model ids ``demo://ldm-text2image`` and ``demo://ldm-inpaint`` resolve to those
folders (:func:`synthaug_utils.diffusion.resolve.resolve_demo_model`); without shipped weights the model is pretrained
into the cache on first use (demo: about 92 min on one thread of a 2-core CPU shared with other work; smoke: a toy
model in seconds).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch

from synthaug_utils.core.files import atomic_folder

BOS, EOS = "<|startoftext|>", "<|endoftext|>"

_ALPHABET = list("abcdefghijklmnopqrstuvwxyz0123456789") + [",", ".", "-", "'", "(", ")", "/"]

# Words of the prompts the project writes: template, FST suffix, demo / F17k-9 / DDI labels and diseases.
PROMPT_WORDS = (
    "an image of a skin disease fitzpatrick type unknown "
    "psoriasis squamous cell carcinoma lichen planus basal allergic contact dermatitis lupus "
    "erythematosus sarcoidosis neutrophilic dermatoses photodermatoses folliculitis "
    "benign malignant melanocytic nevi seborrheic keratosis verruca vulgaris dermatofibroma melanoma "
    "in situ all"
).split()


# ----------------------------------------------------------------------------- architecture
@dataclass(frozen=True)
class DemoArchitecture:
    """Sizes of the demo latent diffusion model (px for images, channels for layers).

    The autoencoder has 3 levels (latent factor 4: 64 px -> 16 x 16 x 4 latents; SD
    uses 4 levels, factor 8, at 512 px): at 64 px a factor-8 latent (8 x 8 x 4) lost
    the lesions' shapes after the pretraining budget allows. Its mid-block attention is
    off (a fully convolutional autoencoder, so it can pretrain on crops).
    """

    image_size: int = 64
    vae_channels: tuple[int, ...] = (8, 16, 32)
    vae_mid_attention: bool = False
    latent_channels: int = 4
    unet_channels: tuple[int, ...] = (32, 64, 128)
    unet_attention: tuple[bool, ...] = (False, False, True)  # cross-attention per UNet level
    unet_layers_per_block: int = 1
    text_time_embedding: bool = True  # add the pooled prompt to the time embedding
    text_width: int = 64
    text_layers: int = 2
    text_heads: int = 4
    max_tokens: int = 24
    norm_groups: int = 8

    @property
    def latent_size(self) -> int:
        return self.image_size // 2 ** (len(self.vae_channels) - 1)


def _word_tokens(word: str) -> list[str]:
    """A word's initial BPE symbols: its characters, the last one with CLIP's end-of-word suffix."""
    return list(word[:-1]) + [word[-1] + "</w>"]


def _apply_merges(symbols: list[str], ranks: dict[tuple[str, str], int]) -> list[str]:
    """Byte-pair merging as the tokenizers library does it: lowest rank first, leftmost on ties."""
    symbols = list(symbols)
    while len(symbols) > 1:
        pairs = [(ranks.get((a, b)), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
        pairs = [(r, i) for r, i in pairs if r is not None]
        if not pairs:
            break
        _, i = min(pairs)
        symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
    return symbols


def build_tokenizer_files(folder: Path, words: Iterable[str] = PROMPT_WORDS, max_tokens: int = 24) -> int:
    """Write a CLIPTokenizer (``vocab.json``, ``merges.txt``, configs) whose vocabulary words are single tokens.

    Merges are added greedily: each word is merged with the merges so far, and when it
    is stuck the leftmost pair is appended as a new (lowest-priority) merge, which never
    changes how earlier words tokenize. Returns the vocabulary size.
    """
    folder.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, int] = {}
    for token in [BOS, EOS] + _ALPHABET + [c + "</w>" for c in _ALPHABET]:
        vocab.setdefault(token, len(vocab))
    merges: list[tuple[str, str]] = []
    ranks: dict[tuple[str, str], int] = {}
    for word in dict.fromkeys(w.lower() for w in words):
        symbols = _apply_merges(_word_tokens(word), ranks)
        while len(symbols) > 1:
            pair = (symbols[0], symbols[1])
            ranks[pair] = len(merges)
            merges.append(pair)
            vocab.setdefault(pair[0] + pair[1], len(vocab))
            symbols = _apply_merges(symbols, ranks)
    (folder / "vocab.json").write_text(json.dumps(vocab, indent=0))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": max_tokens,
        "bos_token": BOS,
        "eos_token": EOS,
        "unk_token": EOS,
        "pad_token": EOS,
        "do_lower_case": True,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    specials = {"bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": EOS}
    (folder / "special_tokens_map.json").write_text(json.dumps(specials, indent=2))
    return len(vocab)


def load_tokenizer(folder: Path):
    """The CLIPTokenizer saved in ``folder`` (offline)."""
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)


def build_components(arch: DemoArchitecture, tokenizer_dir: Path, seed: int = 0) -> dict:
    """Randomly initialised pipeline components (deterministic in ``seed``).

    Returns a dict with ``vae``, ``text_encoder``, ``tokenizer``, ``unet`` (4 input
    channels) and ``scheduler``, all in float32 on the CPU.
    """
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = load_tokenizer(tokenizer_dir)
    torch.manual_seed(seed)
    n_levels = len(arch.vae_channels)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n_levels,
        up_block_types=("UpDecoderBlock2D",) * n_levels,
        block_out_channels=arch.vae_channels,
        layers_per_block=1,
        latent_channels=arch.latent_channels,
        norm_num_groups=arch.norm_groups,
        sample_size=arch.image_size,
        mid_block_add_attention=arch.vae_mid_attention,
    )
    text_config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=arch.text_width,
        intermediate_size=4 * arch.text_width,
        projection_dim=arch.text_width,
        num_hidden_layers=arch.text_layers,
        num_attention_heads=arch.text_heads,
        max_position_embeddings=arch.max_tokens,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    text_encoder = CLIPTextModel(text_config)
    unet = UNet2DConditionModel(**unet_config(arch, in_channels=4))
    scheduler = DPMSolverMultistepScheduler(**SCHEDULER_CONFIG)
    return {"vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer, "unet": unet, "scheduler": scheduler}


# Stable Diffusion's noise schedule; "trailing" spacing starts sampling at the last training
# timestep, which matters at the few steps the demo profile uses.
SCHEDULER_CONFIG = dict(
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    num_train_timesteps=1000,
    timestep_spacing="trailing",
    steps_offset=1,
)


def unet_config(arch: DemoArchitecture, in_channels: int) -> dict:
    """Keyword arguments of the demo UNet2DConditionModel (``in_channels`` 4 or 9)."""
    downs = tuple("CrossAttnDownBlock2D" if a else "DownBlock2D" for a in arch.unet_attention)
    ups = tuple("CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(arch.unet_attention))
    return dict(
        sample_size=arch.latent_size,
        in_channels=in_channels,
        out_channels=arch.latent_channels,
        block_out_channels=arch.unet_channels,
        down_block_types=downs,
        up_block_types=ups,
        layers_per_block=arch.unet_layers_per_block,
        cross_attention_dim=arch.text_width,
        attention_head_dim=4,
        norm_num_groups=arch.norm_groups,
        # The prompt also enters every ResNet block through the time embedding (attention-pooled
        # text, a standard UNet2DConditionModel option): with cross-attention alone the small
        # model ignored the class within the pretraining budget.
        addition_embed_type="text" if arch.text_time_embedding else None,
        addition_embed_type_num_heads=arch.text_heads,
    )


def inpaint_unet_from(unet, arch: DemoArchitecture, seed: int = 0):
    """A 9-input-channel UNet initialised from the 4-channel one.

    The weights of the 5 new input channels (mask, masked-image latents) get PyTorch's
    default random initialisation (seeded). SD-inpainting started them at zero; with the
    demo's short pretraining, zero-initialised channels stayed nearly unused.
    """
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    new = UNet2DConditionModel(**unet_config(arch, in_channels=4 + 1 + arch.latent_channels))
    state = unet.state_dict()
    weight = state["conv_in.weight"]
    extra = new.state_dict()["conv_in.weight"][:, weight.shape[1] :]
    state["conv_in.weight"] = torch.cat([weight, extra], dim=1)
    new.load_state_dict(state)
    return new


def save_pipeline_folder(components: dict, kind: str, out: Path, dtype: torch.dtype = torch.float16) -> Path:
    """Write a diffusers pipeline folder (``kind`` 'text2image' or 'inpaint') atomically; weights as ``dtype``
    safetensors."""
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline

    cls = StableDiffusionPipeline if kind == "text2image" else StableDiffusionInpaintPipeline
    pipe = cls(
        vae=components["vae"],
        text_encoder=components["text_encoder"],
        tokenizer=components["tokenizer"],
        unet=components["unet"],
        scheduler=components["scheduler"],
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    from synthaug_utils.diffusion.pipelines import quiet_loading

    def build(tmp: Path) -> None:
        with quiet_loading():
            pipe.to(dtype)
            pipe.save_pretrained(str(tmp), safe_serialization=True)
            pipe.to(torch.float32)
        if "meta" in components:
            (tmp / "synthaug_demo.json").write_text(json.dumps(components["meta"], indent=2, default=str))

    return atomic_folder(Path(out), build)
