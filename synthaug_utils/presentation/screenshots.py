"""``make screenshots``: a PNG of every page of a built book, as a reader's browser shows it.

Headless Chromium (Debian's ``chromium``; ``apt-get install -y chromium``) renders each page at
``width`` px in a tall window; the blank space below the page's end is cropped away.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from synthaug_utils.core.errors import UserFacingError

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_chromium(needed_by: str = "make screenshots") -> str:
    """The Chromium executable (``chromium`` or ``chromium-browser`` on PATH); ``needed_by`` names the
    command in the one-line error when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise UserFacingError(
        f"chromium not found: {needed_by} needs it; install it with `apt-get install -y chromium` (Debian)"
    )


def crop_blank_bottom(path: Path, margin: int = 40) -> None:
    """Cut the one-colour rows below the page's last row of content from the PNG at ``path`` (in place)."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    width = pixels.shape[1]
    body = pixels[:, int(0.35 * width) : int(0.95 * width)].astype(int)  # right of the sidebar's full-height border
    spread = body.max(axis=1) - body.min(axis=1)  # per row and channel
    rows = np.nonzero(spread.max(axis=1) > 12)[0]  # rows that are not one colour
    if len(rows):
        bottom = min(pixels.shape[0], int(rows[-1]) + margin)
        Image.fromarray(pixels[:bottom]).save(path)


def screenshot(page: Path, out: Path, width: int = 1300, height: int = 16000, timeout_s: int = 120) -> Path:
    """One page (an HTML file) to a PNG at ``out``, ``width`` px wide, cropped below the page's end."""
    with tempfile.TemporaryDirectory() as profile_dir:
        cmd = [
            find_chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile_dir}",
            f"--window-size={width},{height}",
            f"--screenshot={out}",
            page.resolve().as_uri(),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=timeout_s)
    crop_blank_bottom(out)
    return out


def screenshot_book(
    html_dir: str | Path = "_build/html", out_dir: str | Path = "_build/screenshots", width: int = 1300
) -> list[Path]:
    """A PNG of the front page and every chapter of the book in ``html_dir``; returns their paths."""
    html_dir, out_dir = Path(html_dir), Path(out_dir)
    pages = sorted((html_dir / "book").glob("*.html"))
    if not pages:
        raise UserFacingError(f"no built book in {html_dir} (run `make book` first)")
    out_dir.mkdir(parents=True, exist_ok=True)
    shots = []
    for page in pages:
        shots.append(screenshot(page, out_dir / f"{page.stem}.png", width))
        print(f"{shots[-1]}", flush=True)
    return shots
