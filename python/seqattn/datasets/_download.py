"""`get_file`: download a file once into a local cache, verified, resumable, atomic.

Standard library only (urllib, hashlib, tarfile, zipfile).

- Cache: ``<cache_dir>/<cache_subdir>/<fname>``; ``cache_dir`` defaults to ``$SEQATTN_HOME``,
  else ``~/.seqattn``, so datasets land in ``~/.seqattn/datasets/`` (as Keras uses
  ``$KERAS_HOME`` / ``~/.keras/datasets``).
- Atomic: bytes go to ``<fname>.part``; only a complete file whose hash matches is renamed
  (``os.replace``) to ``<fname>``. A cached file is never half-written.
- Resume: when a ``.part`` file exists (an interrupted call, or a dropped connection in this
  one) the next request asks for the rest with an HTTP ``Range: bytes=<size>-`` header. A
  server that answers 200 instead of 206 sends the whole file again, which is handled.
- Retries: connection errors, timeouts, a body cut short and HTTP 408/429/5xx are retried
  with exponential backoff (1, 2, 4 ... s). `retries` counts consecutive attempts that
  received nothing; an attempt that made progress resets the count.
- Hash: SHA-256 (64 hex digits) or MD5 (32). A mismatch deletes the file and raises a
  ValueError naming the URL and both hashes. A cached file is re-hashed on every call (about
  0.2 s for 84 MB) and downloaded again if it does not match.
- Progress: a Keras-like bar on stderr, redrawn in place at most every 0.1 s on a terminal
  or in Jupyter, and one line at most every 10 s otherwise (logs).
- Concurrency: on POSIX a lock file serialises processes fetching the same file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import socket
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

from ..progress import (_ASCII_EMPTY, _ASCII_FILL, _EMPTY, _FILL, _isatty, _jupyter_shell,
                        format_eta)

try:  # POSIX only; elsewhere concurrent downloads of one file are not serialised
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = ["get_file"]

HOME_ENV = "SEQATTN_HOME"
_CHUNK = 1 << 16
_TIMEOUT = 30.0          # seconds without data before a connection counts as failed
_BACKOFF = 1.0           # first retry delay in seconds; doubles each time (tests set 0)
_RETRYABLE_HTTP = {408, 425, 429, 500, 502, 503, 504}


def cache_root(cache_dir=None) -> str:
    """``cache_dir``, else ``$SEQATTN_HOME``, else ``~/.seqattn``."""
    if cache_dir is None:
        cache_dir = os.environ.get(HOME_ENV) or os.path.join("~", ".seqattn")
    return os.path.expanduser(os.fspath(cache_dir))


def _algorithm(file_hash):
    if not isinstance(file_hash, str) or not re.fullmatch(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{64}",
                                                          file_hash):
        raise ValueError("Expected `file_hash` to be a SHA-256 (64 hex digits) or MD5 (32 hex "
                         f"digits) string. Received: file_hash={file_hash!r}")
    return "sha256" if len(file_hash) == 64 else "md5"


def hash_file(path, algorithm="sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------- progress
def _fmt_bytes(n):
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _is_dynamic(stream):
    """Redraw in place on a terminal or in Jupyter, as the training progress bar decides."""
    return _isatty(stream) or _jupyter_shell() is not None


class DownloadProgress:
    """A one-line download bar: ``12.0/80.2 MiB ━━━━━━━━━━━━━━━━━━━━ 3.1 MiB/s ETA 22s``.

    Rate-limited: at most one redraw per `interval` seconds (0.1 s when redrawing in place,
    10 s when each update is a new line, as in a log file), plus the final one.
    """

    def __init__(self, total=None, stream=None, interval=None, width=20,
                 time_fn=time.monotonic):
        self.stream = sys.stderr if stream is None else stream
        self.dynamic = _is_dynamic(self.stream)
        self.interval = interval if interval is not None else (0.1 if self.dynamic else 10.0)
        self.total = total
        self.width = width
        self.time_fn = time_fn
        self.start = time_fn()
        self.start_bytes = None
        self.last = None          # time of the last draw
        self.draws = 0
        encoding = getattr(self.stream, "encoding", None) or "utf-8"
        try:
            (_FILL + _EMPTY).encode(encoding)
            self.chars = (_FILL, _EMPTY)
        except (UnicodeEncodeError, LookupError):
            self.chars = (_ASCII_FILL, _ASCII_EMPTY)

    def update(self, current, final=False):
        now = self.time_fn()
        if self.start_bytes is None:
            self.start_bytes = current    # a resumed download starts above 0
        if not final and self.last is not None and now - self.last < self.interval:
            return
        self.last = now
        self.draws += 1
        elapsed = now - self.start
        rate = (current - self.start_bytes) / elapsed if elapsed > 0 else 0.0
        if self.total:
            done = min(self.width, int(self.width * current / self.total))
            bar = self.chars[0] * done + self.chars[1] * (self.width - done)
            unit, size = (("MiB", 1 << 20) if self.total >= 1 << 20 else ("KiB", 1 << 10))
            head = f"{current / size:.1f}/{self.total / size:.1f} {unit} {bar}"
        else:
            head = _fmt_bytes(current)
        if final:
            tail = f"{format_eta(elapsed)} {_fmt_bytes(rate)}/s"
        elif self.total and rate > 0:
            tail = f"{_fmt_bytes(rate)}/s ETA {format_eta((self.total - current) / rate)}"
        else:
            tail = f"{_fmt_bytes(rate)}/s"
        text = f"{head} {tail}"
        try:
            if self.dynamic:
                self.stream.write("\r" + text.ljust(60) + ("\n" if final else ""))
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream must not stop a download
            pass


def _say(progress, message):
    if progress:
        try:
            print(message, file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass


# ----------------------------------------------------------------------------- download
class _CutShort(Exception):
    """The connection ended before Content-Length bytes arrived."""


def _content_range(value):
    """(start, total or None) from ``bytes start-end/total``, or None."""
    m = re.fullmatch(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", value or "")
    if not m:
        return None
    return int(m.group(1)), (None if m.group(3) == "*" else int(m.group(3)))


def _fetch(origin, part, progress, retries, bar_holder):
    """Download ``origin`` into ``part`` (resuming it if it exists) until complete."""
    failures = 0
    while True:
        offset = os.path.getsize(part) if os.path.exists(part) else 0
        headers = {"User-Agent": "seqattn (urllib)", "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        received = 0
        error = None
        try:
            request = urllib.request.Request(origin, headers=headers)
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as resp:
                status = resp.getcode() or 200
                length = resp.headers.get("Content-Length")
                length = int(length) if length and length.isdigit() else None
                if offset and status == 206:
                    rng = _content_range(resp.headers.get("Content-Range"))
                    if rng is None or rng[0] != offset:
                        # The server answered a different range: start over cleanly.
                        os.remove(part)
                        raise _CutShort(f"unexpected Content-Range "
                                        f"{resp.headers.get('Content-Range')!r}")
                    total = rng[1] if rng[1] is not None else (
                        offset + length if length is not None else None)
                    mode = "ab"
                else:
                    if offset:
                        _say(progress, "The server does not resume downloads (no HTTP Range "
                                       "support); starting again from the beginning.")
                    offset, mode = 0, "wb"
                    total = length
                if progress and bar_holder[0] is None:
                    bar_holder[0] = DownloadProgress(total)
                bar = bar_holder[0] if progress else None
                if bar is not None and bar.total is None:
                    bar.total = total
                with open(part, mode) as f:
                    while True:
                        chunk = resp.read(_CHUNK)
                        if not chunk:
                            break
                        f.write(chunk)
                        received += len(chunk)
                        if bar is not None:
                            bar.update(offset + received)
                    f.flush()
                    os.fsync(f.fileno())
                if total is not None and offset + received < total:
                    raise _CutShort(f"the connection closed after {offset + received} of "
                                    f"{total} bytes")
                if bar is not None:
                    bar.update(offset + received, final=True)
                return
        except urllib.error.HTTPError as e:
            if e.code == 416 and offset:
                # Range not satisfiable: the partial file is not a prefix of this file.
                os.remove(part)
                error = e
            elif e.code in _RETRYABLE_HTTP:
                error = e
            else:
                raise OSError(f"Downloading {origin} failed: HTTP {e.code} {e.reason}.") from None
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError,
                TimeoutError, socket.timeout, _CutShort) as e:
            error = e
        failures = 1 if received else failures + 1
        if failures > retries:
            size = os.path.getsize(part) if os.path.exists(part) else 0
            kept = (f" The {size:,} bytes received are kept in {part!r}; calling again "
                    "resumes from there." if size else "")
            reason = getattr(error, "reason", None) or error
            raise OSError(f"Downloading {origin} failed after {retries} "
                          f"retr{'y' if retries == 1 else 'ies'}: {reason}.{kept}") from error
        delay = _BACKOFF * 2 ** (failures - 1)
        _say(progress, f"Download interrupted ({getattr(error, 'reason', None) or error}); "
                       f"retrying in {delay:g} s ({failures}/{retries}).")
        time.sleep(delay)


def _download(origin, target, file_hash, progress, retries):
    part = target + ".part"
    algorithm = _algorithm(file_hash) if file_hash is not None else None
    had_part = os.path.exists(part)
    # A complete .part whose rename was missed (e.g. a crash) needs no request at all.
    done = had_part and algorithm is not None and hash_file(part, algorithm) == file_hash.lower()
    if not done:
        _say(progress, f"Downloading data from {origin}" + (
            f" (resuming at {os.path.getsize(part):,} bytes)" if had_part else ""))
    while not done:
        _fetch(origin, part, progress, retries, [None])
        if algorithm is None:
            break
        received = hash_file(part, algorithm)
        if received == file_hash.lower():
            break
        os.remove(part)
        if had_part:
            # The old partial file may have come from another version of the file.
            had_part = False
            _say(progress, "The resumed file does not match its hash; downloading it again "
                           "from the beginning.")
            continue
        raise ValueError(
            f"The file downloaded from {origin} is corrupted or not the expected file: its "
            f"{algorithm} hash is {received}, expected {file_hash.lower()}. It was deleted; "
            "nothing was cached.")
    os.replace(part, target)
    _fsync_dir(os.path.dirname(target))


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class _Lock:
    """An exclusive lock file (POSIX); a no-op elsewhere."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def __enter__(self):
        if fcntl is not None:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)


# ------------------------------------------------------------------------------ extract
def _inside(root, name):
    target = os.path.realpath(os.path.join(root, name))
    return os.path.commonpath([target, root]) == root


def extract_archive(archive, destination):
    """Extract a tar (any compression) or zip archive into ``destination`` safely.

    No member may land outside ``destination``: an absolute path, a ``..`` component or a
    link pointing outside raises ValueError and nothing is left behind. Tar archives are
    read with Python's ``"data"`` extraction filter where available (3.10.12+, 3.11.4+),
    which also refuses devices and drops unsafe permission bits; without it only regular
    files and folders are extracted. Extraction goes to a temporary sibling folder that is
    renamed to ``destination`` when complete.
    """
    archive = os.fspath(archive)
    destination = os.fspath(destination)
    parent = os.path.dirname(os.path.abspath(destination))
    os.makedirs(parent, exist_ok=True)
    tmp = f"{destination}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    root = os.path.realpath(tmp)
    try:
        if tarfile.is_tarfile(archive):
            with tarfile.open(archive, "r:*") as tar:
                members = tar.getmembers()
                for m in members:
                    if os.path.isabs(m.name) or not _inside(root, m.name) or (
                            (m.issym() or m.islnk()) and not _inside(
                                root, os.path.join(os.path.dirname(m.name), m.linkname)
                                if m.issym() else m.linkname)):
                        raise ValueError(f"Refusing to extract {archive!r}: the member "
                                         f"{m.name!r} would be written outside {destination!r}.")
                if hasattr(tarfile, "data_filter"):
                    try:
                        tar.extractall(tmp, members=members, filter="data")
                    except tarfile.FilterError as e:
                        raise ValueError(f"Refusing to extract {archive!r}: {e}") from None
                else:  # pragma: no cover - Python without extraction filters
                    tar.extractall(tmp, members=[m for m in members if m.isfile() or m.isdir()])
        elif zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for name in z.namelist():
                    if os.path.isabs(name) or name.startswith(("/", "\\")) or not _inside(
                            root, name):
                        raise ValueError(f"Refusing to extract {archive!r}: the member "
                                         f"{name!r} would be written outside {destination!r}.")
                z.extractall(tmp)
        else:
            raise ValueError(f"Cannot extract {archive!r}: it is neither a tar nor a zip "
                             "archive.")
        if os.path.isdir(destination):
            shutil.rmtree(destination)
        os.replace(tmp, destination)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return destination


# ------------------------------------------------------------------------------ get_file
def get_file(fname, origin, file_hash=None, cache_dir=None, cache_subdir="datasets",
             extract=False, progress=True, retries=3):
    """Download a file from a URL into the cache, unless it is already there; return its path.

    Like ``keras.utils.get_file``: the file lands in ``<cache_dir>/<cache_subdir>/<fname>``
    (``~/.seqattn/datasets/<fname>`` by default; the environment variable ``SEQATTN_HOME``
    replaces ``~/.seqattn``). The download is written to ``<fname>.part`` and renamed only
    when complete and verified; an interrupted download is resumed (HTTP Range) by the next
    attempt or the next call.

    Args:
        fname: the file name in the cache (no folders); None takes it from the URL.
        origin: the URL (http, https or file).
        file_hash: expected SHA-256 (64 hex digits) or MD5 (32) of the file. Strongly
            recommended: it is checked after the download and on every later call (a cached
            file that does not match is downloaded again). A mismatch after downloading
            deletes the file and raises ValueError with the URL and both hashes.
        cache_dir: the cache root; None means ``$SEQATTN_HOME`` or ``~/.seqattn``.
        cache_subdir: sub-folder of ``cache_dir`` (an absolute path is used as is).
        extract: if True, also extract the tar or zip archive (safely: no member may land
            outside the target folder) into ``<cache_subdir>/<name>_extracted``, where
            ``<name>`` is ``fname`` up to its first dot, and return that folder.
        progress: show the download bar and messages on stderr.
        retries: how many times to retry after a connection error, a timeout, a body cut
            short or an HTTP 408/429/5xx, with backoff of 1, 2, 4 ... s; an attempt that
            received data resets the count.

    Returns:
        The path (str) of the cached file, or of the extracted folder with ``extract=True``.

    Raises:
        ValueError: bad arguments, or a hash mismatch.
        OSError: the download failed (HTTP error, or out of retries; a partial file is kept
            for the next call to resume).
    """
    if not isinstance(origin, str) or not origin:
        raise ValueError(f"Expected a URL string for `origin`. Received: origin={origin!r}")
    scheme = urllib.parse.urlsplit(origin).scheme.lower()
    if scheme not in ("http", "https", "file", "ftp"):
        raise ValueError(f"Expected an http(s), ftp or file URL for `origin`. Received: "
                         f"origin={origin!r}")
    if fname is None or fname == "":
        fname = os.path.basename(urllib.parse.unquote(urllib.parse.urlsplit(origin).path))
        if not fname:
            raise ValueError(f"Cannot take a file name from the URL {origin!r}: pass `fname`.")
    fname = os.fspath(fname)
    if os.path.basename(fname) != fname or fname in (".", ".."):
        raise ValueError(f"`fname` must be a plain file name (the folder comes from "
                         f"`cache_dir` and `cache_subdir`). Received: fname={fname!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"Expected a non-negative integer for `retries`. Received: "
                         f"retries={retries!r}")
    if file_hash is not None:
        _algorithm(file_hash)
    folder = os.path.join(cache_root(cache_dir), os.fspath(cache_subdir))
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, fname)

    with _Lock(target + ".lock"):
        if os.path.exists(target) and file_hash is not None:
            algorithm = _algorithm(file_hash)
            if hash_file(target, algorithm) != file_hash.lower():
                _say(progress, f"The cached file {target!r} does not match its {algorithm} "
                               "hash (incomplete or outdated); downloading it again.")
                os.remove(target)
        if not os.path.exists(target):
            _download(origin, target, file_hash, progress, retries)

    if not extract:
        return target
    destination = os.path.join(folder, fname.split(".", 1)[0] + "_extracted")
    with _Lock(target + ".lock"):
        # Extract again only when the archive changed (the stamp records which one).
        stamp = os.path.join(destination, ".seqattn-extracted")
        source = f"{os.path.getsize(target)} {os.stat(target).st_mtime_ns}"
        try:
            with open(stamp) as f:
                current = f.read() == source
        except OSError:
            current = False
        if not current:
            extract_archive(target, destination)
            with open(stamp, "w") as f:
                f.write(source)
    return destination
