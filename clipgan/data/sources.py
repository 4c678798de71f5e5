"""Scenery datasets from outside: a local folder or archive, an archive URL, or kagglehub.

An imported dataset is written exactly like a synthetic one: `{split}/{class}/*.png`, each
image converted to RGB and resized once, plus a manifest. Files that are not whole images
are skipped, listed in the log and counted; when they are more than `max_skipped_share` of
the files, the import fails with the list instead of training on what is left.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pandas as pd
from PIL import Image

from clipgan.data.folders import read_rgb, write_manifest
from clipgan.fetch import extract_archive, fetch_once, is_archive, verify_sha256
from clipgan.io import MissingAssetError, write_image

log = logging.getLogger(__name__)

DEFAULT_MAX_SKIPPED_SHARE = 0.05
UNLABELLED = "unlabelled"  # the one class folder of an unlabelled dataset (DCGAN training only)


class DatasetError(ValueError):
    """A dataset folder has too many unreadable files, or none that are usable."""


def import_dataset(spec: dict, name: str, classes: list[str], size: int, out_dir: str | os.PathLike,
                   downloads: str | os.PathLike = "resources/downloads") -> pd.DataFrame:
    """Resolve `spec` (one entry of the config's `datasets`) to a folder and import it into `out_dir`."""
    key = f"datasets.{name}"
    source = spec["source"]
    with tempfile.TemporaryDirectory(prefix=f"{name}-", dir=Path(out_dir).parent) as scratch:
        if source == "local":
            root = _local_root(spec, key, Path(scratch))
        elif source == "url":
            if "url" not in spec:
                raise MissingAssetError(f"{key}.url: source 'url' needs the archive's address in {key}.url")
            archive = Path(downloads) / name / (Path(spec["url"].split("?")[0]).name or "archive")
            fetch_once(spec["url"], archive, sha256=spec.get("sha256", ""), what=key)
            root = extract_archive(archive, Path(scratch) / "extracted")
        elif source == "kaggle":
            root = _kaggle_root(spec, key)
        else:
            raise ValueError(f"{key}.source: {source!r} is not an external source")
        share = spec.get("max_skipped_share", DEFAULT_MAX_SKIPPED_SHARE)
        if not spec.get("labelled", True):  # a pile of scenery images: every file under the split folders
            return import_folder(root, spec.get("splits", {"train": "."}), {".": UNLABELLED}, size, Path(out_dir),
                                 max_skipped_share=share, what=key)
        return import_folder(root, spec.get("splits", {"train": "train", "test": "test"}),
                             spec.get("class_map", {c: c for c in classes}), size, Path(out_dir),
                             max_skipped_share=share, what=key)


def _local_root(spec: dict, key: str, scratch: Path) -> Path:
    path = Path(spec.get("path", ""))
    if not spec.get("path") or not path.exists():
        raise MissingAssetError(
            f"{key}.path: {spec.get('path')!r} not found. Give a folder that holds one subfolder per split, each with "
            "one subfolder per class, or a zip/tar archive of such a folder.")
    if path.is_dir():
        return path
    if spec.get("sha256"):
        verify_sha256(path, spec["sha256"], key)
    if not is_archive(path):
        raise DatasetError(f"{key}.path: {path} is neither a folder nor a zip/tar archive")
    return extract_archive(path, scratch / "extracted")


def _kaggle_root(spec: dict, key: str) -> Path:
    if "handle" not in spec:
        raise MissingAssetError(f"{key}.handle: source 'kaggle' needs a dataset handle, e.g. "
                                "puneet6060/intel-image-classification/versions/2")
    try:
        import kagglehub
    except ImportError as err:
        raise MissingAssetError(
            f"{key}: source 'kaggle' needs the kagglehub package (pip install kagglehub) and Kaggle credentials. "
            f"Without them, download {spec['handle']} yourself and set {key}.source: local and {key}.path.") from err
    try:
        return Path(kagglehub.dataset_download(spec["handle"]))
    except Exception as err:  # kagglehub raises many kinds; all mean "not available here"
        raise MissingAssetError(
            f"{key}: kagglehub could not fetch {spec['handle']} ({type(err).__name__}: {err}). Check the handle and "
            f"your Kaggle credentials, or download it yourself and set {key}.source: local and {key}.path.") from err


def import_folder(root: Path, splits: dict[str, str], class_map: dict[str, str], size: int, out_dir: Path, *,
                  max_skipped_share: float = DEFAULT_MAX_SKIPPED_SHARE, what: str = "dataset") -> pd.DataFrame:
    """Convert `root/{split folder}/{class folder}/*` into `out_dir`; returns the manifest rows."""
    rows, skipped, ignored = [], [], 0
    for split, sub in splits.items():
        for folder_name, cls in sorted(class_map.items()):
            folder = root / sub / folder_name
            if not folder.is_dir():
                log.warning("no folder %s: class %s has no %s images", folder, cls, split)
                continue
            for path in sorted(folder.rglob("*")):
                if path.is_dir() or path.is_symlink():
                    continue
                if path.name.startswith("."):  # .DS_Store and friends are not part of a dataset
                    ignored += 1
                    continue
                try:
                    image = read_rgb(path, size)
                except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
                    skipped.append(f"{path}: {type(err).__name__}: {err}")
                    continue
                rel = Path(split) / cls / f"{Path(folder_name).name or 'image'}_{len(rows):06d}.png"
                write_image(image, out_dir / rel)
                rows.append({"path": rel.as_posix(), "split": split, "class": cls,
                             "source": str(path.relative_to(root))})
    total = len(rows) + len(skipped)
    if skipped:
        log.warning("skipped %d of %d files that are not whole images:\n  %s", len(skipped), total,
                    "\n  ".join(skipped))
    if total and len(skipped) / total > max_skipped_share:
        raise DatasetError(
            f"{what}: {len(skipped)} of {total} files ({len(skipped) / total:.1%}) are not readable images, more than "
            f"{what}.max_skipped_share = {max_skipped_share:.1%}. Fix or remove them, or raise that setting:\n  "
            + "\n  ".join(skipped))
    if not rows:
        raise DatasetError(f"{what}: no readable images under {root} for splits {splits} and classes {class_map}")
    table = pd.DataFrame(rows)
    write_manifest(out_dir, table)
    log.info("imported %d images from %s (%d skipped, %d hidden files ignored); per split and class: %s", len(rows),
             root, len(skipped), ignored, table.groupby(["split", "class"]).size().to_dict())
    return table

