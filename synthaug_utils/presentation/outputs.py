"""What an executed chapter shows: prose, figures and tables, not build noise.

During ``synthaug book`` every chapter's kernel runs :data:`KERNEL_SETUP` first: progress bars
(tqdm) write to the kernel's own stderr, which the build's terminal shows as they run. After
execution :func:`clean_notebook` folds every code input (``hide-input``), hides the parameter
cells (the notebook's and papermill's injected copy, ``remove-cell``) and removes standard error,
warnings and progress-bar outputs from the saved notebook; what it removed is returned so that the
build can keep it in a log.
"""

from __future__ import annotations

import re
import sys

# Run by every chapter kernel at start-up (IPKernelApp.exec_lines).
KERNEL_SETUP = "import synthaug_utils.presentation.outputs as _so; _so.install_terminal_progress(); del _so"

HIDDEN_CELL_TAGS = ("parameters", "injected-parameters")

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# a tqdm line: "desc: 12%|###   | 3/25 [00:01<00:09, 2.3it/s]"
PROGRESS_LINE = re.compile(r"\d+%\|.*\|\s*\d+/\d+|\|\s*\d+/\d+\s*\[\d")

WARNING_LINE = re.compile(r"^\S.*\b\w*Warning\b:|^\s*warnings\.warn\(", re.MULTILINE)


def install_terminal_progress() -> None:
    """Make tqdm (``tqdm``, ``tqdm.auto``, ``tqdm.std``) write to the process's own stderr by default:
    in a kernel that is the terminal of ``synthaug book``, not the notebook's output."""
    import warnings

    import tqdm
    import tqdm.std

    with warnings.catch_warnings():  # tqdm.auto warns once about missing ipywidgets in a kernel
        warnings.simplefilter("ignore")
        import tqdm.auto

    base = tqdm.std.tqdm

    class TerminalTqdm(base):
        def __init__(self, *args, **kwargs):
            if kwargs.get("file") is None:
                kwargs["file"] = sys.__stderr__
            super().__init__(*args, **kwargs)

    tqdm.tqdm = tqdm.auto.tqdm = TerminalTqdm


def _text(output) -> str:
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    else:
        text = output.get("data", {}).get("text/plain", "")
    return "".join(text) if isinstance(text, list) else str(text)


def is_noise(output) -> bool:
    """Standard error, a progress widget or progress-bar text, or a warning."""
    if output.get("output_type") == "stream" and output.get("name") == "stderr":
        return True
    if WIDGET_MIME in output.get("data", {}):
        return True
    if output.get("output_type") == "stream":
        text = _text(output)
        return bool(PROGRESS_LINE.search(text) or WARNING_LINE.search(text))
    return False


def clean_notebook(nb) -> list[str]:
    """Fold inputs, hide parameter cells and drop noise outputs of an executed notebook (in place).

    Returns the text of every output removed (for the build's log)."""
    removed: list[str] = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        tags = list(cell.get("metadata", {}).get("tags", []))
        if any(t in tags for t in HIDDEN_CELL_TAGS):
            tags.append("remove-cell")
        elif not any(t.startswith("remove") for t in tags):
            tags.append("hide-input")
        cell.setdefault("metadata", {})["tags"] = list(dict.fromkeys(tags))
        keep = []
        for output in cell.get("outputs", []):
            if is_noise(output):
                removed.append(_text(output))
            else:
                keep.append(output)
        cell["outputs"] = keep
    return removed
