"""Importing scenery datasets: odd image files, archives, downloads, Kaggle, and clean failures."""

import hashlib
import json
import sys
import types
import zipfile

import numpy as np
import pytest
from PIL import Image

from clipgan.data.sources import DatasetError, import_dataset
from clipgan.fetch import ChecksumError
from clipgan.io import MissingAssetError

CLASSES = ["forest", "sea"]


def _write(path, image, **save):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **save)


def make_folder(root, with_bad=True):
    """A seg_train/seg_test-style folder holding every kind of file a real download can hold."""
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for cls in CLASSES:
            for i in range(3):
                _write(root / split / cls / f"{i}.jpg", Image.fromarray(rng.integers(0, 255, (40, 48, 3), np.uint8)))
    odd = root / "train" / "forest"
    _write(odd / "grey.png", Image.new("L", (20, 20), 128))
    _write(odd / "cmyk.jpg", Image.new("CMYK", (20, 20), (0, 255, 0, 0)))
    rgba = Image.new("RGBA", (20, 20), (255, 0, 0, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))  # transparent, with black stored underneath
    _write(odd / "alpha.png", rgba)
    _write(odd / "deep.png", Image.fromarray(np.full((20, 20), 65535, np.uint16)))
    (odd / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    if with_bad:
        good = (odd / "0.jpg").read_bytes()
        (odd / "truncated.jpg").write_bytes(good[: len(good) // 3])
        (odd / "empty.png").write_bytes(b"")
        (odd / "notes.jpg").write_text("not an image at all")
        (root / "train" / "sea" / "README.txt").write_text("licence: CC0")
    return root


def _import(root, tmp_path, **spec):
    spec = {"source": "local", "path": str(root), **spec}
    out = tmp_path / "out"
    return import_dataset(spec, "scenes", CLASSES, 16, out, downloads=tmp_path / "downloads"), out


def test_odd_images_are_converted_and_bad_files_skipped_and_counted(tmp_path, caplog):
    root = make_folder(tmp_path / "raw")
    table, out = _import(root, tmp_path, max_skipped_share=0.5)
    assert len(table) == 12 + 4  # 12 plain + grey, CMYK, alpha and 16-bit; 4 bad files skipped
    assert "skipped 4 of 20 files" in caplog.text
    for name in ("truncated.jpg", "empty.png", "notes.jpg", "README.txt"):
        assert name in caplog.text
    by_source = {row["source"]: out / row["path"] for row in table.to_dict("records")}
    pixel = lambda name: np.asarray(Image.open(by_source[f"train/forest/{name}"]))  # noqa: E731
    assert pixel("grey.png").shape == (16, 16, 3) and abs(int(pixel("grey.png")[8, 8, 0]) - 128) <= 1
    assert tuple(pixel("cmyk.jpg")[8, 8]) == pytest.approx((255, 0, 255), abs=3)
    assert tuple(pixel("deep.png")[8, 8]) == (255, 255, 255)  # 16-bit white stays white, scaled not clipped
    assert tuple(pixel("alpha.png")[8, 8]) == pytest.approx((255, 0, 0), abs=2)
    assert pixel("alpha.png")[0, 0].mean() > 150  # transparent corner composited onto white, not black
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_files"] == 16 and len(manifest["files"][0]["sha256"]) == 64


def test_too_many_bad_files_fail_with_the_list(tmp_path):
    root = make_folder(tmp_path / "raw")
    with pytest.raises(DatasetError, match=r"4 of 20 files \(20.0%\).*max_skipped_share = 5.0%") as err:
        _import(root, tmp_path)
    for name in ("truncated.jpg", "empty.png", "notes.jpg", "README.txt"):
        assert name in str(err.value)


def test_prepare_dataset_leaves_no_half_folder(tmp_path, monkeypatch):
    from clipgan.stages import Job, data_prepare

    root = make_folder(tmp_path / "raw")
    monkeypatch.chdir(tmp_path)

    def job(settings):
        return Job(output={"folder": "resources/datasets/scenes"}, wildcards={"dataset": "scenes"},
                   params={"settings": settings, "classes": CLASSES, "image_size": 16, "synthetic": None, "seed": None})

    with pytest.raises(DatasetError):
        data_prepare(job({"source": "local", "path": str(root)}))
    assert list((tmp_path / "resources" / "datasets").iterdir()) == []
    data_prepare(job({"source": "local", "path": str(root), "max_skipped_share": 0.25}))
    assert sorted(p.name for p in (tmp_path / "resources" / "datasets").iterdir()) == ["scenes"]


def test_missing_local_folder_names_the_key(tmp_path):
    with pytest.raises(MissingAssetError, match=r"datasets.scenes.path: '/nowhere' not found"):
        import_dataset({"source": "local", "path": "/nowhere"}, "scenes", CLASSES, 16, tmp_path / "out")


def _zip_folder(root, archive):
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(root.rglob("*")):
            zf.write(path, path.relative_to(root.parent))
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def test_local_archive_with_checksum(tmp_path):
    root = make_folder(tmp_path / "intel", with_bad=False)
    archive, sha = _zip_folder(root, tmp_path / "intel.zip")
    splits = {"train": "intel/train", "test": "intel/test"}
    table, _ = _import(archive, tmp_path, sha256=sha, splits=splits)
    assert len(table) == 16
    with pytest.raises(ChecksumError, match="expected 0000"):
        _import(archive, tmp_path, sha256="0" * 64, splits=splits)


def test_url_source_downloads_once_and_refetches_a_corrupt_copy(tmp_path, caplog):
    caplog.set_level("INFO")
    root = make_folder(tmp_path / "intel", with_bad=False)
    archive, sha = _zip_folder(root, tmp_path / "intel.zip")
    spec = {"source": "url", "url": archive.as_uri(), "sha256": sha, "splits": {"train": "intel/train",
                                                                              "test": "intel/test"}}
    downloads = tmp_path / "downloads"
    import_dataset(spec, "intel", CLASSES, 16, tmp_path / "a", downloads=downloads)
    cached = downloads / "intel" / "intel.zip"
    assert cached.read_bytes() == archive.read_bytes()
    import_dataset(spec, "intel", CLASSES, 16, tmp_path / "b", downloads=downloads)
    assert "using the downloaded" in caplog.text
    cached.write_bytes(b"garbage")
    import_dataset(spec, "intel", CLASSES, 16, tmp_path / "c", downloads=downloads)
    assert "downloading it again" in caplog.text and cached.read_bytes() == archive.read_bytes()


def test_kaggle_source_through_kagglehub(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "kaggle", with_bad=False)
    calls = []
    fake = types.SimpleNamespace(dataset_download=lambda handle: calls.append(handle) or str(root))
    monkeypatch.setitem(sys.modules, "kagglehub", fake)
    spec = {"source": "kaggle", "handle": "someone/scenes/versions/2"}
    table = import_dataset(spec, "scenes", CLASSES, 16, tmp_path / "out")
    assert calls == ["someone/scenes/versions/2"] and len(table) == 16


def test_kaggle_without_kagglehub_says_how_to_go_local(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kagglehub", None)  # import fails
    with pytest.raises(MissingAssetError, match=r"pip install kagglehub.*datasets.scenes.source: local"):
        import_dataset({"source": "kaggle", "handle": "a/b"}, "scenes", CLASSES, 16, tmp_path / "out")


def test_kaggle_offline_fails_at_once_with_the_handle(tmp_path, monkeypatch):
    def offline(handle):
        raise ConnectionError("no network")

    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(dataset_download=offline))
    with pytest.raises(MissingAssetError, match=r"could not fetch a/b \(ConnectionError: no network\)"):
        import_dataset({"source": "kaggle", "handle": "a/b"}, "scenes", CLASSES, 16, tmp_path / "out")
