"""Image folders on disk: `{root}/{split}/{class}/*.png`, a manifest and (for scenes) captions.

The manifest lists every file with its class, sha256 and size, so a study can say exactly
which images it was trained on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from clipgan.io import atomic_path, sha256_file, write_image, write_json

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def write_scenes(scenes: Iterable, root: str | os.PathLike, progress=None) -> pd.DataFrame:
    """Write Scene objects as an image folder plus captions.parquet and manifest.json."""
    root = Path(root)
    rows = []
    for i, scene in enumerate(scenes):
        rel = Path(scene.split) / scene.cls / f"{scene.index:05d}.png"
        write_image(scene.image, root / rel)
        rows.append({"path": rel.as_posix(), "split": scene.split, "class": scene.cls, "caption": scene.caption})
        if progress:
            progress(i)
    table = pd.DataFrame(rows)
    with atomic_path(root / "captions.parquet") as tmp:
        table.to_parquet(tmp, index=False)
    write_manifest(root, table)
    return table


def write_manifest(root: Path, table: pd.DataFrame) -> None:
    files = [{"path": row["path"], "class": row["class"], "split": row["split"],
              "sha256": sha256_file(root / row["path"]), "size": (root / row["path"]).stat().st_size}
             for row in table.to_dict("records")]
    write_json({"n_files": len(files), "files": files}, root / "manifest.json")


def list_image_folder(root: str | os.PathLike, split: str, classes: Sequence[str]) -> pd.DataFrame:
    """Rows (path, class) of `{root}/{split}/{class}/*`; only the listed classes, sorted paths."""
    root = Path(root)
    rows = []
    for cls in classes:
        folder = root / split / cls
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                rows.append({"path": str(path), "class": cls})
    if not rows:
        raise FileNotFoundError(f"no images under {root / split} for classes {', '.join(classes)}")
    return pd.DataFrame(rows)


def read_rgb(path: str | os.PathLike, size: int | None = None) -> np.ndarray:
    """One image as (H, W, 3) uint8 RGB, resized to `size` when given.

    Grey, palette, CMYK and 16-bit images are converted; transparent pixels are composited
    onto white (dropping alpha would expose whatever colour they happen to store). Raises
    OSError or ValueError for a file that is not a whole, readable image.
    """
    with Image.open(path) as im:
        im.load()  # decode now: a truncated file fails here, not later
        if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            array = np.asarray(im, dtype=np.float64)
            scale = 257.0 if im.mode.startswith("I;16") or array.max() > 255 else 1.0
            im = Image.fromarray(np.clip(array / scale, 0, 255).astype(np.uint8))
        if im.mode == "P" and "transparency" in im.info:
            im = im.convert("RGBA")
        if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
            rgba = im.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(background, rgba)
        im = im.convert("RGB")
        if size and im.size != (size, size):
            im = im.resize((size, size), Image.BICUBIC)
        return np.asarray(im)


def load_images(paths: Sequence[str | os.PathLike], size: int | None = None) -> np.ndarray:
    """(N, H, W, 3) uint8, converted to RGB and resized to `size` when given."""
    out = [read_rgb(path, size) for path in paths]
    return np.stack(out) if out else np.zeros((0, size or 0, size or 0, 3), np.uint8)


def class_mix(root: str | os.PathLike, classes: Sequence[str], split: str = "train") -> dict[str, float] | None:
    """The share of each of `classes` among a dataset's `split` files (its manifest's labels), and their number
    under the key "n"; None when none of its files carries one of these classes (an unlabelled dataset)."""
    files = [f for f in json.loads((Path(root) / "manifest.json").read_text())["files"] if f["split"] == split]
    labelled = [f["class"] for f in files if f["class"] in classes]
    if not labelled:
        return None
    return {**{c: labelled.count(c) / len(labelled) for c in classes}, "n": len(labelled)}
