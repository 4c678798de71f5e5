"""Scenery datasets from outside: a local folder today; archives and Kaggle with the full study.

An imported dataset is written exactly like a synthetic one: `{split}/{class}/*.png`, each
image converted to RGB and resized once, plus a manifest. Unreadable files are skipped and
counted in the log.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from clipgan.data.folders import IMAGE_SUFFIXES, write_manifest
from clipgan.io import write_image

log = logging.getLogger(__name__)


def import_dataset(spec: dict, name: str, classes: list[str], size: int, out_dir: str) -> None:
    source = spec["source"]
    if source != "local":
        raise NotImplementedError(
            f"datasets.{name}.source: {source!r} downloads are not available in this version of clipgan. "
            f"Download the dataset yourself and set datasets.{name}.source: local with datasets.{name}.path "
            "pointing at a folder of {split}/{class}/ images.")
    if "path" not in spec or not Path(spec["path"]).is_dir():
        raise FileNotFoundError(f"datasets.{name}.path: folder {spec.get('path')!r} not found; give a folder "
                                "that holds one subfolder per split, each with one subfolder per class")
    import_folder(Path(spec["path"]), spec.get("splits", {"train": "train", "test": "test"}),
                  spec.get("class_map", {c: c for c in classes}), size, Path(out_dir))


def import_folder(root: Path, splits: dict[str, str], class_map: dict[str, str], size: int, out_dir: Path) -> None:
    rows, skipped = [], []
    for split, sub in splits.items():
        for folder_name, cls in sorted(class_map.items()):
            folder = root / sub / folder_name
            if not folder.is_dir():
                log.warning("no folder %s: class %s has no %s images", folder, cls, split)
                continue
            for i, path in enumerate(sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)):
                try:
                    with Image.open(path) as im:
                        image = np.asarray(im.convert("RGB").resize((size, size), Image.BICUBIC))
                except (UnidentifiedImageError, OSError) as err:
                    skipped.append(f"{path}: {err}")
                    continue
                rel = Path(split) / cls / f"{folder_name}_{i:06d}.png"
                write_image(image, out_dir / rel)
                rows.append({"path": rel.as_posix(), "split": split, "class": cls})
    if skipped:
        log.warning("skipped %d unreadable files:\n  %s", len(skipped), "\n  ".join(skipped))
    if not rows:
        raise FileNotFoundError(f"no readable images under {root} for splits {splits} and classes {class_map}")
    write_manifest(out_dir, pd.DataFrame(rows))
    log.info("imported %d images (%d skipped) from %s", len(rows), len(skipped), root)
