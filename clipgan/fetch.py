"""Getting files from outside: downloads with checksums and retries, and safe archive extraction.

Both follow the rule of `clipgan.io`: a target appears whole or not at all. A download streams
into a temp file beside its target and is renamed only after its length and sha256 check out;
an archive is checked member by member before anything is written, extracted into a temp
folder and renamed. Members that would land outside the target (absolute paths, `..`, links
pointing out) and device files are refused, for zip and tar alike.
"""

from __future__ import annotations

import http.client
import logging
import os
import shutil
import socket
import stat
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable

from clipgan.io import MissingAssetError, atomic_path, sha256_file

log = logging.getLogger(__name__)

# HTTP statuses worth another try; any other 4xx (404, 403, ...) will not get better by waiting
TRANSIENT_HTTP = {408, 425, 429, 500, 502, 503, 504}


class DownloadError(RuntimeError):
    """A download failed for good (after retries, or at once for a permanent error)."""


class ChecksumError(DownloadError):
    """A file's sha256 is not the one the config expects."""


class UnsafeArchiveError(ValueError):
    """An archive member would escape the target folder or is a device file."""


def verify_sha256(path: str | os.PathLike, expected: str, what: str = "") -> None:
    """Raise ChecksumError unless `path` hashes to `expected` (lower-case hex)."""
    actual = sha256_file(path)
    if actual != expected.lower():
        raise ChecksumError(f"{what or path}: sha256 of {path} is {actual}, expected {expected}. The file is "
                            "corrupt or not the one the config names; delete it and fetch it again, or fix the "
                            "sha256 in the config.")


def _is_transient(err: BaseException) -> bool:
    if isinstance(err, urllib.error.HTTPError):
        return err.code in TRANSIENT_HTTP
    if isinstance(err, urllib.error.URLError):
        # an unknown host (no DNS, no network) or a missing file:// path will not appear by waiting
        return isinstance(err.reason, (socket.timeout, TimeoutError, ConnectionError)) and \
            not isinstance(err.reason, socket.gaierror)
    return isinstance(err, (http.client.IncompleteRead, ConnectionError, TimeoutError, socket.timeout,
                            _ShortRead))


class _ShortRead(OSError):
    """The server closed the connection before Content-Length bytes arrived."""


def download(url: str, dest: str | os.PathLike, *, sha256: str = "", what: str = "", retries: int = 3,
             backoff_s: float = 2.0, timeout_s: float = 60.0, sleep: Callable[[float], None] = time.sleep) -> Path:
    """Fetch `url` to `dest`; verify its sha256 when given. Returns `dest`.

    Transient failures (connection errors, timeouts, truncated bodies, HTTP 408/429/5xx) are
    retried `retries` times with exponential backoff; permanent ones (404, a bad address, a
    checksum mismatch) fail at once. On any failure nothing is left at `dest`.
    """
    dest = Path(dest)
    label = what or url
    if os.environ.get("CLIPGAN_OFFLINE") == "1":
        raise MissingAssetError(f"{label}: {dest} is not here and CLIPGAN_OFFLINE=1 forbids downloading {url}; "
                                "fetch it on a machine with internet access, or give a local path in the config")
    for attempt in range(retries + 1):
        try:
            with atomic_path(dest) as tmp:
                _stream(url, tmp, timeout_s, label)
                if sha256:
                    verify_sha256(tmp, sha256, label)
            log.info("downloaded %s to %s (%d bytes)", url, dest, dest.stat().st_size)
            return dest
        except ChecksumError:
            raise
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as err:
            if not _is_transient(err):
                raise DownloadError(f"{label}: cannot download {url}: {err}. Check the address and your network, or "
                                    "give a local path in the config instead") from err
            if attempt == retries:
                raise DownloadError(f"{label}: download of {url} failed {retries + 1} times, last with: {err}") \
                    from err
            wait = backoff_s * 2 ** attempt
            log.warning("%s: transient error (%s); retry %d of %d in %.0f s", label, err, attempt + 1, retries, wait)
            sleep(wait)
    raise AssertionError("unreachable")


def fetch_once(url: str, dest: str | os.PathLike, *, sha256: str = "", what: str = "") -> Path:
    """`dest` if an earlier run downloaded it (and it still matches `sha256`), else `download` it now."""
    dest = Path(dest)
    if dest.exists():
        if not sha256 or sha256_file(dest) == sha256.lower():
            log.info("using the downloaded %s", dest)
            return dest
        log.warning("%s does not match the expected sha256 (%s): downloading it again", dest, what or url)
        dest.unlink()
    return download(url, dest, sha256=sha256, what=what)


def _stream(url: str, path: Path, timeout_s: float, label: str, chunk: int = 1 << 20) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "clipgan"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response, open(path, "wb") as out:
        expected = response.headers.get("Content-Length")
        expected = int(expected) if expected and expected.isdigit() else None
        received, next_report, t0 = 0, 64 << 20, time.perf_counter()
        while block := response.read(chunk):
            out.write(block)
            received += len(block)
            if received >= next_report:
                rate = received / max(time.perf_counter() - t0, 1e-9) / 2 ** 20
                share = f" of {expected / 2 ** 20:.0f} MiB" if expected else ""
                log.info("%s: %.0f MiB%s, %.1f MiB/s", label, received / 2 ** 20, share, rate)
                next_report += 64 << 20
    if expected is not None and received != expected:
        raise _ShortRead(f"connection closed after {received} of {expected} bytes")


# ---------------------------------------------------------------------------------------------
# archives


def is_archive(path: str | os.PathLike) -> bool:
    return Path(path).is_file() and (zipfile.is_zipfile(path) or tarfile.is_tarfile(path))


def extract_archive(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a zip or tar (any compression) into the new folder `dest`, refusing unsafe members."""
    archive, dest = Path(archive), Path(dest)
    if dest.exists():
        raise FileExistsError(f"{dest} exists; extraction needs a fresh folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, tmp)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, tmp)
        else:
            raise UnsafeArchiveError(f"{archive} is neither a zip nor a tar archive")
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest


def _refuse(archive: Path, member: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(f"{archive}: member {member!r} {why}; refusing to extract anything from this "
                              "archive. Check where it came from.")


def _safe_relative(name: str) -> bool:
    if "\\" in name or (len(name) > 1 and name[1] == ":"):  # Windows separators and drive letters
        return False
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts


def _extract_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for info in members:  # check every member before writing any
            if not _safe_relative(info.filename):
                raise _refuse(archive, info.filename, "has an absolute path or '..' and would land outside the "
                                                      "target folder")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                target = zf.read(info).decode("utf-8", "replace")
                joined = PurePosixPath(info.filename).parent / target
                if not _safe_relative(str(joined)):
                    raise _refuse(archive, info.filename, f"is a link pointing outside the target ({target!r})")
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                raise _refuse(archive, info.filename, "is a device or special file")
        for info in members:
            if stat.S_ISLNK(info.external_attr >> 16):
                continue  # inside links are skipped: the files they point at are extracted themselves
            zf.extract(info, dest)


def _extract_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for member in members:  # the stdlib's "data" filter, applied to every member up front
            if member.ischr() or member.isblk() or member.isfifo() or member.isdev():
                raise _refuse(archive, member.name, "is a device or special file")
            if not _safe_relative(member.name):
                raise _refuse(archive, member.name, "has an absolute path or '..' and would land outside the "
                                                    "target folder")
            try:
                tarfile.data_filter(member, str(dest))
            except tarfile.FilterError as err:
                raise _refuse(archive, member.name, f"is unsafe ({err})") from err
        tf.extractall(dest, members=members, filter="data")
