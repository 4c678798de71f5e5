"""Helpers the stages share: progress bars, the resume file of a trained model, datasets as arrays."""

from __future__ import annotations

import logging
from dataclasses import asdict, is_dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from clipgan.io import config_hash, sha256_file
from clipgan.runtime import Progress

log = logging.getLogger("clipgan.stages")


def bar(total: int, desc: str) -> Progress:
    return Progress(total, desc, log)


def resumer(out_model: str, settings: dict, dataset_dirs: list[str], every: int):
    """The resume file beside a trained model; its fingerprint covers the settings and the data."""
    from clipgan.resume import Resumer

    settings = {k: asdict(v) if is_dataclass(v) else v for k, v in settings.items()}
    data = [sha256_file(Path(d) / "manifest.json") for d in dataset_dirs]
    out = Path(out_model)
    # the loop's format is part of what a resume file is: one from another format starts over
    fingerprint = config_hash({"settings": settings, "data": data, "loop": "clipgan.training.train_epochs/1"})
    return Resumer(out.with_name(f"{out.stem}.resume.pt"), fingerprint, every)


def load_dataset(root: str, split: str, classes, size: int) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Images (N, H, W, 3) uint8, integer labels over `classes`, and the file listing."""
    from clipgan.data.folders import list_image_folder, load_images

    listing = list_image_folder(root, split, classes)
    images = load_images(listing.path, size)
    labels = listing["class"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    return images, labels, listing


def load_generator(settings: dict, path: str, device):
    """The generator of `generators.<id>` (`settings`) stored at `path`."""
    from clipgan.generators import build_generator

    return build_generator(settings["kind"], path, settings, device)
