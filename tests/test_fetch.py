"""Downloads and archives: checksums, retries, no partial files, and hostile archives refused."""

import hashlib
import io
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clipgan.fetch import (ChecksumError, DownloadError, UnsafeArchiveError, download, extract_archive)

BODY = b"scenery " * 5000
SHA = hashlib.sha256(BODY).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    hits: dict = {}

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_GET(self):
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        n = self.hits[self.path]
        if self.path == "/ok":
            self._send(200, BODY)
        elif self.path == "/flaky" and n <= 2:
            self._send(503, b"busy")
        elif self.path == "/flaky":
            self._send(200, BODY)
        elif self.path == "/short":  # promises the whole body, sends half, hangs up
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[: len(BODY) // 2])
            self.close_connection = True
        else:
            self._send(404, b"no such file")

    def _send(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    _Handler.hits = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Handler.hits
    httpd.shutdown()


def test_download_checks_sha256(server, tmp_path):
    base, _ = server
    out = download(f"{base}/ok", tmp_path / "a.bin", sha256=SHA)
    assert out.read_bytes() == BODY


def test_wrong_sha256_fails_at_once_and_leaves_nothing(server, tmp_path):
    base, hits = server
    with pytest.raises(ChecksumError, match=f"sha256 .* is {SHA}, expected 0+"):
        download(f"{base}/ok", tmp_path / "a.bin", sha256="0" * 64, sleep=lambda s: None)
    assert hits["/ok"] == 1  # a mismatch is not retried
    assert list(tmp_path.iterdir()) == []


def test_transient_errors_are_retried_with_backoff(server, tmp_path):
    base, hits = server
    waits = []
    download(f"{base}/flaky", tmp_path / "a.bin", sha256=SHA, retries=3, backoff_s=1.5, sleep=waits.append)
    assert hits["/flaky"] == 3
    assert waits == [1.5, 3.0]


def test_permanent_errors_are_not_retried(server, tmp_path):
    base, hits = server
    with pytest.raises(DownloadError, match="404"):
        download(f"{base}/missing", tmp_path / "a.bin", retries=5, sleep=lambda s: None)
    assert hits["/missing"] == 1
    assert list(tmp_path.iterdir()) == []


def test_truncated_download_is_retried_then_fails_without_a_partial_file(server, tmp_path):
    base, hits = server
    waits = []
    with pytest.raises(DownloadError, match=r"failed 3 times.*closed after"):
        download(f"{base}/short", tmp_path / "a.bin", retries=2, sleep=waits.append)
    assert hits["/short"] == 3 and len(waits) == 2
    assert list(tmp_path.iterdir()) == []


def test_unreachable_host_fails_with_the_address(tmp_path):
    with pytest.raises(DownloadError, match="127.0.0.1:9"):
        download("http://127.0.0.1:9/x.zip", tmp_path / "x.zip", retries=1, sleep=lambda s: None)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# archives


def _zip(path, members):
    """members: (name, data, unix mode or None)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def _tar(path, members):
    """members: tarfile.TarInfo with optional data."""
    with tarfile.open(path, "w:gz") as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return path


def _info(name, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    return info


def test_good_archives_extract(tmp_path):
    z = _zip(tmp_path / "good.zip", [("train/sea/a.txt", b"a", None), ("train/sea/b.txt", b"b", None)])
    assert (extract_archive(z, tmp_path / "z") / "train/sea/b.txt").read_bytes() == b"b"
    t = _tar(tmp_path / "good.tgz", [(_info("train/sea/a.txt"), b"a"),
                                     (_info("train/sea/link", tarfile.SYMTYPE, "a.txt"), None)])
    out = extract_archive(t, tmp_path / "t")
    assert (out / "train/sea/a.txt").read_bytes() == b"a"
    assert (out / "train/sea/link").read_bytes() == b"a"  # a link that stays inside is fine


@pytest.mark.parametrize("name, members", [
    ("zip-absolute", [("/etc/evil", b"x", None)]),
    ("zip-dotdot", [("ok.txt", b"ok", None), ("../evil", b"x", None)]),
    ("zip-nested-dotdot", [("a/../../evil", b"x", None)]),
    ("zip-backslash", [("..\\evil", b"x", None)]),
    ("zip-symlink-out", [("link", b"../../etc/passwd", 0o120777)]),
    ("zip-symlink-absolute", [("link", b"/etc/passwd", 0o120777)]),
    ("zip-device", [("dev", b"", 0o020644)]),
])
def test_hostile_zip_members_are_refused(tmp_path, name, members):
    archive = _zip(tmp_path / f"{name}.zip", members)
    with pytest.raises(UnsafeArchiveError, match="refusing to extract"):
        extract_archive(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.zip"]  # nothing written, not even ok.txt


@pytest.mark.parametrize("name, members", [
    ("tar-absolute", [(_info("/tmp/evil"), b"x")]),
    ("tar-dotdot", [(_info("ok.txt"), b"ok"), (_info("../evil"), b"x")]),
    ("tar-symlink-out", [(_info("link", tarfile.SYMTYPE, "../../etc/passwd"), None)]),
    ("tar-symlink-absolute", [(_info("link", tarfile.SYMTYPE, "/etc/passwd"), None)]),
    ("tar-hardlink-out", [(_info("hard", tarfile.LNKTYPE, "/etc/passwd"), None)]),
    ("tar-char-device", [(_info("dev", tarfile.CHRTYPE), None)]),
    ("tar-block-device", [(_info("dev", tarfile.BLKTYPE), None)]),
    ("tar-fifo", [(_info("fifo", tarfile.FIFOTYPE), None)]),
])
def test_hostile_tar_members_are_refused(tmp_path, name, members):
    archive = _tar(tmp_path / f"{name}.tgz", members)
    with pytest.raises(UnsafeArchiveError, match="refusing to extract"):
        extract_archive(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.tgz"]


def test_not_an_archive(tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"not an archive")
    with pytest.raises(UnsafeArchiveError, match="neither a zip nor a tar"):
        extract_archive(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
