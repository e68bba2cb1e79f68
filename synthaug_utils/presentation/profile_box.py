"""The box at the top of every chapter (and of the Methods page) that says which profile, data and models the page
shows.

:func:`profile_box` returns it as a MyST admonition, chosen by the profile the chapter was built with
(:func:`box_kind`):

``stand-in``
    ``demo`` and ``smoke``: the project's synthetic stand-in world; results are not medical findings.
``paper``
    the paper profile on real data and models: which datasets and model weights this build's config names.
``byo``
    the paper profile with a bring-your-own main dataset: its name (``main_data_name``), where it came
    from, its stored name and, when given, its citation (``main_data_citation``).
``rehearsal``
    data and models inside a world written by ``synthaug rehearse`` (random weights): the numbers mean
    nothing.

Chapters glue it (:func:`glue_profile_box`) and show it with ``{glue:md}`` (format ``myst``), so no page
carries a fixed profile sentence. Sentences that only one chapter needs are in :data:`CHAPTER_NOTES`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from synthaug_utils.core import chapters
from synthaug_utils.core.config import Profile, main_data_name
from synthaug_utils.core.paths import rehearsal_world

GLUE_NAME = "profile_box"

BOX_KINDS = ("stand-in", "paper", "byo", "rehearsal")

# The admonition's colour class per kind; every box also carries ``profile-box`` and ``profile-<kind>``.
_STYLE = {"stand-in": "warning", "paper": "note", "byo": "note", "rehearsal": "warning"}

_REAL_METADATA = "{ref}`Real Fitzpatrick17k-9 metadata <real-metadata>`"

Note = Callable[[Profile], "str | None"]

# Chapter id -> kind -> the chapter's own sentence(s), or a function of the profile giving them. A ``byo``
# box without its own entry takes the ``paper`` one; a chapter of the registry without an entry has none.
CHAPTER_NOTES: dict[str, dict[str, str | Note]] = {
    chapters.DATA.id: {
        "stand-in": f"The last section, {_REAL_METADATA}, is the exception: its numbers come from the published "
        "metadata on every profile.",
        "byo": f"The last section, {_REAL_METADATA}, reads the published Fitzpatrick17k-9 metadata, not this dataset.",
        "rehearsal": f"The last section, {_REAL_METADATA}, is the exception: it reads the real published metadata, "
        "so its numbers are real.",
    },
    chapters.GENERATION.id: {
        "stand-in": "The generator is the project's small latent diffusion model, pretrained on a separate pool of the "
        "world's images, not Stable Diffusion; every number here describes that world and model, not skin disease.",
        "rehearsal": "The Stable Diffusion pipelines have random weights: their samples are noise, and the quality "
        "gates "
        "are expected to fail.",
    },
    chapters.REAL_VS_SYNTHETIC.id: {
        "stand-in": "Compare the *shape* of the effects with the paper (see the reproduction report), not the values.",
        "byo": "The paper's values are for F17k-9: compare the *shape* of the effects with the paper, not the values.",
    },
    chapters.DOSE_RESPONSE.id: {
        "stand-in": "The grid scales the paper's synthetic-to-real ratios down to fit a CPU budget.",
    },
    chapters.SKIN_TYPE.id: {
        "stand-in": lambda P: (
            f"The skin-tone bins of `{P.ddi_dataset}` are properties of drawn stand-in images: these "
            "results say nothing about real patients or real skin types."
        ),
        "rehearsal": "The DDI-format rows are generated, not DDI's: their skin-tone bins are drawn.",
    },
    chapters.CLASS_IMBALANCE.id: {},
    chapters.METHODS.id: {},  # the Methods page (presentation.methods), generated for the build
    chapters.EMBEDDINGS.id: {
        "stand-in": "The embeddings are pooled features of the pretrained demo backbone on the world's images; "
        "distances "
        "and quality scores describe that world, not real skin disease.",
        "rehearsal": "The embedding model has random weights: distances between its embeddings mean nothing.",
    },
    chapters.REPORT.id: {
        "stand-in": "The data, generator and classifier are stand-ins, so the *values* below are not expected to match "
        "the "
        "paper's; the comparison is one of **shape**: does synthetic data help most at small n, does the gain "
        "shrink as n grows, does it saturate beyond the first synthetic-to-real ratio. Values are compared only "
        "on the paper's own data.",
        "paper": lambda P: _comparison(P),
        "rehearsal": lambda P: (
            _comparison(P) + " With random weights neither is expected to agree; the report shows that "
            "the comparison runs."
        ),
    },
}


def _comparison(P: Profile) -> str:
    from synthaug_utils.analysis.report import compares_values

    if compares_values(P):
        return (
            "This build runs on the paper's datasets, so its values are compared with the paper's (within both "
            "uncertainties), besides the shape of the results."
        )
    return "This build's data are not the paper's, so only the shape of the results is compared, not the values."


def box_kind(P: Profile) -> str:
    """Which box a page built with ``P`` carries (one of :data:`BOX_KINDS`)."""
    if P.is_embedded:
        return "stand-in"
    if rehearsal_world(P.locations.values()) is not None:
        return "rehearsal"
    return "byo" if main_data_name(P) is not None else "paper"


def chapter_note(P: Profile, chapter: str, kind: str | None = None) -> str | None:
    """The sentence(s) only ``chapter`` needs on a page of ``kind`` (default :func:`box_kind`), or None."""
    if chapters.find(chapter) is None:
        raise ValueError(f"no profile box for chapter {chapter!r}; chapters: {[c.id for c in chapters.all_pages()]}")
    kind = kind or box_kind(P)
    notes = CHAPTER_NOTES.get(chapter, {})
    note = notes.get(kind, notes.get("paper") if kind == "byo" else None)
    return note(P) if callable(note) else note


# ----------------------------------------------------------------------------- what the box names
def _name(spec: str) -> str:
    """A location as a page shows it: a file's or folder's name (never the build machine's path), else the spec."""
    if "://" in str(spec):
        return str(spec)
    path = Path(str(spec)).expanduser()
    return path.name if path.is_absolute() or path.exists() else str(spec)


def _file_version(spec: str) -> str:
    """`name` (digest ...) for a local file, `name` alone otherwise (a hub id or scheme names its version)."""
    from synthaug_utils.core.files import file_digest

    path = Path(str(spec)).expanduser()
    if "://" not in str(spec) and path.is_file():
        return f"`{path.name}` (blake2b {file_digest(path)[:12]})"
    return f"`{_name(spec)}`"


def _model_version(model_id: str, P: Profile) -> str:
    """`label` (weights hash ...) for a diffusers pipeline found on this machine, else `label` (not found)."""
    from synthaug_utils.diffusion.pipelines import locate_model, model_hash, model_label

    try:
        folder = locate_model(model_id, P)
    except Exception:  # not on this machine: the chapters that need it say so
        return f"`{model_label(model_id)}` (not found on this machine)"
    return f"`{model_label(model_id)}` (weights hash {model_hash(folder)[:12]})"


def _listed(items: list[str]) -> str:
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def _origin(source: str) -> str:
    path = Path(source).expanduser()
    return f"the table `{path.name}`" if path.suffix.lower() == ".csv" else f"the class folders in `{path.name}`"


def _data_lines(P: Profile) -> list[str]:
    loc = P.locations
    name = main_data_name(P)
    if name is not None:
        main = f"**{name}** (bring-your-own data, from {_origin(loc['main_data'])}; stored as `{P.dataset}`)"
        if P.main_data_citation:
            main += f". Source: {P.main_data_citation.rstrip('.')}"
    else:
        main = (
            f"F17k-9 (`{P.dataset}`): annotation table {_file_version(loc.get('f17k_metadata', 'not set'))}, the "
            f"authors' split files in `{_name(loc.get('f17k_splits', 'not set'))}`, images in "
            f"`{_name(loc.get('f17k_images', 'not set'))}`"
        )
    if loc.get("ddi_data"):
        ddi = f"a bring-your-own binary table, from {_origin(loc['ddi_data'])} (stored as `{P.ddi_dataset}`)"
    elif loc.get("ddi_metadata") and loc.get("ddi_images"):
        ddi = f"DDI (`{P.ddi_dataset}`): {_file_version(loc['ddi_metadata'])}, images in `{_name(loc['ddi_images'])}`"
    else:
        ddi = "not supplied"
    return [f"- Main dataset: {main}.", f"- DDI slot (Fig. 5): {ddi}."]


def _model_lines(P: Profile) -> list[str]:
    loc = P.locations
    classifier = loc.get("classifier_weights")
    return [
        f"- Generators: text-to-image {_model_version(P.text2image_model, P)}, inpainting "
        f"{_model_version(P.inpaint_model, P)}.",
        f"- Classifier: `{P.arch}`" + (f", weights {_file_version(classifier)}." if classifier else "."),
        f"- Embeddings: `{P.embedding_model}`"
        + (f", weights {_file_version(loc['clip_weights'])}." if loc.get("clip_weights") else "."),
    ]


# ----------------------------------------------------------------------------- the box
# The model locations a rehearsal world supplies with random weights, as the rehearsal box names them.
_WORLD_MODELS = {
    "sd_text2image": "the text-to-image pipeline",
    "sd_inpaint": "the inpainting pipeline",
    "classifier_weights": "the classifier",
    "clip_weights": "the CLIP model",
}


def profile_box(P: Profile, chapter: str, with_note: bool = True) -> str:
    """The profile box of ``chapter`` (a chapter's id, e.g. ``chapters.REAL_VS_SYNTHETIC.id``) built with ``P``: a
    MyST admonition naming the profile, what its data and models are and what its results mean, ending
    with the chapter's own sentences (:func:`chapter_note`) unless ``with_note`` is false (a chapter that
    did not run shows no results to qualify)."""
    kind = box_kind(P)
    note = chapter_note(P, chapter, kind)
    if kind == "stand-in":
        title = f"Profile `{P.name}`: the project's synthetic stand-in world"
        body = [
            f"This page was built on the `{P.name}` profile (*{P.description.rstrip('.')}*). Its images are drawn by "
            f"the project's own code (`synthaug_utils.data.world`): the stand-in world `{P.dataset}` (and "
            f"`{P.ddi_dataset}` for Fig. 5), whose classes carry the F17k-9 label names, with the project's own "
            f"generator and the classifier `{P.arch}`. Nothing here shows patients, and results on this page are "
            "results about that stand-in world and its models, not medical findings."
        ]
    elif kind == "rehearsal":
        world = rehearsal_world(P.locations.values())
        name = main_data_name(P)
        data = (
            f"the bring-your-own dataset **{name}**"
            if name is not None
            else "real Fitzpatrick17k rows, generated DDI-format rows"
        )
        random = [what for key, what in _WORLD_MODELS.items() if rehearsal_world([P.locations.get(key, "")]) == world]
        title = f"Rehearsal of the `{P.name}` profile: random weights, the numbers mean nothing"
        body = [
            f"This page was built by `synthaug rehearse`: the `{P.name}` profile's code on a miniature paper-format "
            f"world (the folder `{world.name}`) with {data}, images drawn by the project, and random weights in "
            f"{_listed(random) or 'its models'}, at toy sizes. Every number and image the page computes comes "
            "from them: it means nothing about skin disease or about the paper. The page shows that each step of "
            "the paper's code path runs.",
            "",
            *_data_lines(P),
            *_model_lines(P),
        ]
    elif kind == "byo":
        name = main_data_name(P)
        title = f"Profile `{P.name}` on your own dataset: {name}"
        body = [
            f"This page was built on the `{P.name}` profile with a bring-your-own main dataset in place of "
            f"Fitzpatrick17k. Its labels, not F17k-9's, are the classes here, and results describe **{name}** with "
            "the models below, not the paper's data.",
            "",
            *_data_lines(P),
            *_model_lines(P),
        ]
    else:
        title = f"Profile `{P.name}`: real data and models"
        body = [
            f"This page was built on the `{P.name}` profile ({P.description.rstrip('.')}) with the data and model "
            "weights this build's config names; settings that differ from the paper's are on the Methods page.",
            "",
            *_data_lines(P),
            *_model_lines(P),
        ]
    if note and with_note:
        body += ["", note]
    # a tilde fence: a backtick fence's opening line may not hold backticks (the title's code spans)
    return "\n".join([f"~~~{{admonition}} {title}", f":class: {_STYLE[kind]} profile-box profile-{kind}", *body, "~~~"])


def glue_profile_box(P: Profile, chapter: str) -> None:
    """Glue :func:`profile_box` as Markdown under :data:`GLUE_NAME` (a chapter shows it with the ``{glue:md}``
    directive, format ``myst``). Returns nothing, so that a cell ending with the call shows no output."""
    from IPython.display import Markdown
    from myst_nb import glue

    glue(GLUE_NAME, Markdown(profile_box(P, chapter)), display=False)


FRONT_BOX_FILE = "front_profile_box.md"  # included by book/intro.md


def write_front_box(book_dir: Path, P: Profile) -> Path:
    """Write ``<book_dir>/front_profile_box.md``: the front page's profile box for this build (no chapter's
    note). The build writes it before Sphinx runs, as it writes the Methods page, because a Markdown page
    cannot take a glued Markdown object from another document."""
    from synthaug_utils.core.files import atomic_write_text

    book_dir.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(book_dir / FRONT_BOX_FILE, profile_box(P, chapters.METHODS.id, with_note=False) + "\n")
