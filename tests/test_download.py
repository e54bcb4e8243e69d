"""get_file against a local HTTP server on 127.0.0.1 (never the network): verify and cache,
reuse the cache without a request, resume after a dropped connection (HTTP Range), retry,
reject a wrong hash without caching anything, rate-limited progress, safe extraction, and
imdb.load_data(path=None) through the download."""

from __future__ import annotations

import io
import os
import re
import tarfile
import zipfile

import pytest

from datasets_fixtures import IMDB_REVIEWS, FileServer, imdb_tar_bytes, sha256
from seqattn import datasets
from seqattn.datasets import _download, imdb

PAYLOAD = bytes(range(256)) * 4000          # 1,024,000 bytes: 16 chunks of 64 KiB


@pytest.fixture(autouse=True)
def _fast_and_local(monkeypatch, tmp_path):
    monkeypatch.setattr(_download, "_BACKOFF", 0.0)
    monkeypatch.setattr(_download, "_TIMEOUT", 5.0)
    monkeypatch.setenv("no_proxy", "*")         # 127.0.0.1 must never go through a proxy
    monkeypatch.setenv("SEQATTN_HOME", str(tmp_path / "home"))


@pytest.fixture
def server():
    with FileServer({"/data.bin": PAYLOAD}) as s:
        yield s


def fetch(server, tmp_path, **kwargs):
    kwargs.setdefault("file_hash", sha256(PAYLOAD))
    kwargs.setdefault("progress", False)
    return datasets.get_file("data.bin", server.url("/data.bin"), cache_dir=tmp_path / "c",
                             **kwargs)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def test_download_verifies_caches_and_reuses(server, tmp_path):
    path = fetch(server, tmp_path)
    assert path == str(tmp_path / "c" / "datasets" / "data.bin")
    assert open(path, "rb").read() == PAYLOAD
    assert leftovers(tmp_path / "c" / "datasets") == ["data.bin"]      # no .part left
    assert server.requests == [("/data.bin", None)]
    assert fetch(server, tmp_path) == path                              # from the cache
    assert len(server.requests) == 1
    # The default cache: $SEQATTN_HOME/datasets, and fname defaults to the URL's name.
    p = datasets.get_file(None, server.url("/data.bin"), progress=False)
    assert p == str(tmp_path / "home" / "datasets" / "data.bin")


def test_dropped_connection_is_resumed_with_range(server, tmp_path):
    server.script = [100_000, 300_000]              # two drops, then the rest
    path = fetch(server, tmp_path)
    assert open(path, "rb").read() == PAYLOAD
    assert [r for _, r in server.requests] == [None, "bytes=100000-", "bytes=400000-"]


def test_interrupted_call_is_resumed_by_the_next_call(server, tmp_path):
    # A drop (data received: the retry count restarts), then two failures without data.
    server.script = [250_000, ("status", 503), ("status", 503)]
    with pytest.raises(OSError, match=r"after 1 retry.*250,000 bytes received are kept.*"
                                      r"calling again resumes"):
        fetch(server, tmp_path, retries=1)
    part = tmp_path / "c" / "datasets" / "data.bin.part"
    assert part.stat().st_size == 250_000
    assert not (tmp_path / "c" / "datasets" / "data.bin").exists()
    path = fetch(server, tmp_path)
    assert open(path, "rb").read() == PAYLOAD and not part.exists()
    assert server.requests[-1] == ("/data.bin", "bytes=250000-")


def test_server_without_range_support(server, tmp_path):
    server.ignore_range = True
    server.script = [500_000]
    path = fetch(server, tmp_path)
    assert open(path, "rb").read() == PAYLOAD


def test_stale_partial_file_is_replaced(server, tmp_path):
    folder = tmp_path / "c" / "datasets"
    folder.mkdir(parents=True)
    (folder / "data.bin.part").write_bytes(b"not the same file" * 100)
    path = fetch(server, tmp_path)
    assert open(path, "rb").read() == PAYLOAD
    assert server.requests[0][1] == "bytes=1700-" and server.requests[-1][1] is None


def test_cached_file_with_wrong_hash_is_downloaded_again(server, tmp_path):
    folder = tmp_path / "c" / "datasets"
    folder.mkdir(parents=True)
    (folder / "data.bin").write_bytes(b"outdated")
    assert open(fetch(server, tmp_path), "rb").read() == PAYLOAD
    assert len(server.requests) == 1


def test_wrong_hash_raises_and_caches_nothing(server, tmp_path):
    wrong = "0" * 64
    with pytest.raises(ValueError) as e:
        fetch(server, tmp_path, file_hash=wrong)
    message = str(e.value)
    assert server.url("/data.bin") in message and wrong in message
    assert sha256(PAYLOAD) in message
    assert leftovers(tmp_path / "c" / "datasets") == []


def test_http_errors(server, tmp_path):
    with pytest.raises(OSError, match="HTTP 404"):
        datasets.get_file("x", server.url("/missing"), cache_dir=tmp_path, progress=False)
    assert len(server.requests) == 1                       # not retried
    server.script = [("status", 503), ("status", 503)]
    assert open(fetch(server, tmp_path), "rb").read() == PAYLOAD
    assert len(server.requests) == 4
    server.script = [("status", 500)] * 3
    with pytest.raises(OSError, match="after 2 retries"):
        fetch(server, tmp_path / "other", retries=2)


def test_unreachable_server_gives_up_after_retries(tmp_path):
    with FileServer({}) as s:
        url = s.url("/data.bin")
    with pytest.raises(OSError, match="failed after 2 retries"):
        datasets.get_file("d", url, cache_dir=tmp_path, progress=False, retries=2)


@pytest.mark.parametrize("kwargs, message", [
    ({"fname": "a/b.bin"}, "plain file name"),
    ({"file_hash": "abc"}, "SHA-256"),
    ({"retries": -1}, "retries"),
    ({"origin": "ftpx://host/file"}, "origin"),
])
def test_get_file_argument_errors(tmp_path, kwargs, message):
    args = {"fname": "f", "origin": "http://127.0.0.1:9/f", "cache_dir": tmp_path}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        datasets.get_file(**args)


def test_progress_output_is_rate_limited(server, tmp_path, capsys):
    server.chunk = 1 << 12                  # many small writes, 16+ reads of 64 KiB
    fetch(server, tmp_path, progress=True)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == f"Downloading data from {server.url('/data.bin')}"
    # Not a terminal: one line at most every 10 s, plus the final one.
    assert len(lines) <= 3, err
    assert re.search(r"1000\.0/1000\.0 KiB \S{20} \d+s ", lines[-1]), lines[-1]


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_redraws_in_place_at_most_every_interval():
    clock = [0.0]
    out = FakeTerminal()
    bar = _download.DownloadProgress(total=1_000_000, stream=out, time_fn=lambda: clock[0])
    for i in range(1, 1001):                # 1,000 updates over 1 s
        clock[0] = i / 1000
        bar.update(i * 1000, final=i == 1000)
    assert bar.dynamic and 10 <= bar.draws <= 12
    assert out.getvalue().count("\r") == bar.draws and out.getvalue().endswith("\n")
    assert "976.6/976.6 KiB" in out.getvalue()


def test_extract_is_safe(tmp_path):
    good = io.BytesIO()
    with tarfile.open(fileobj=good, mode="w:gz") as tar:
        info = tarfile.TarInfo("pkg/a.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"no"))
    link = io.BytesIO()
    with tarfile.open(fileobj=link, mode="w") as tar:
        info = tarfile.TarInfo("pkg/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../outside"
        tar.addfile(info)
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("../zip-escaped.txt", "no")
    files = {"/good.tar.gz": good.getvalue(), "/evil.tar.gz": evil.getvalue(),
             "/link.tar": link.getvalue(), "/evil.zip": zipped.getvalue()}
    with FileServer(files) as s:
        out = datasets.get_file("good.tar.gz", s.url("/good.tar.gz"), cache_dir=tmp_path,
                                extract=True, progress=False)
        assert out == str(tmp_path / "datasets" / "good_extracted")
        assert open(os.path.join(out, "pkg", "a.txt")).read() == "hi"
        n = len(s.requests)
        assert datasets.get_file("good.tar.gz", s.url("/good.tar.gz"), cache_dir=tmp_path,
                                 extract=True, progress=False) == out
        assert len(s.requests) == n
        for name in ("evil.tar.gz", "link.tar", "evil.zip"):
            with pytest.raises(ValueError, match="outside"):
                datasets.get_file(name, s.url("/" + name), cache_dir=tmp_path, extract=True,
                                  progress=False)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "datasets" / "escaped.txt").exists()
    assert not (tmp_path / "datasets" / "zip-escaped.txt").exists()
    assert not [p for p in (tmp_path / "datasets").iterdir() if ".tmp-" in p.name]


def test_imdb_path_none_downloads_once(tmp_path, monkeypatch):
    archive = imdb_tar_bytes()
    tar_reads = []
    read_tar = imdb._read_tar
    monkeypatch.setattr(imdb, "_read_tar", lambda *a: tar_reads.append(a) or read_tar(*a))
    with FileServer({"/aclImdb_v1.tar.gz": archive}) as s:
        monkeypatch.setattr(imdb, "ORIGIN", s.url("/aclImdb_v1.tar.gz"))
        monkeypatch.setattr(imdb, "SHA256", sha256(archive))
        texts, labels = imdb.load_texts(split="test")
        assert texts == [t for split, _, _, t in IMDB_REVIEWS if split == "test"]
        assert labels.tolist() == [0, 1]
        (x_train, _), (x_test, _) = imdb.load_data()
        assert len(x_train) == 4 and len(x_test) == 2
        assert len(s.requests) == 1
        folder = tmp_path / "home" / "datasets"
        assert (folder / "aclImdb_v1.tar.gz").read_bytes() == archive
        # The archive was walked once; the reviews cache beside it served the second load.
        assert len(tar_reads) == 1 and (folder / "aclImdb_v1.reviews.npz").is_file()
        # A damaged cache is rebuilt from the archive.
        (folder / "aclImdb_v1.reviews.npz").write_bytes(b"damaged")
        assert imdb.load_texts(split="test")[0] == texts and len(tar_reads) == 2
        assert imdb.load_texts(split="test")[0] == texts and len(tar_reads) == 2
        # A wrong published hash: nothing cached, a clear error.
        (folder / "aclImdb_v1.tar.gz").unlink()
        monkeypatch.setattr(imdb, "SHA256", "1" * 64)
        with pytest.raises(ValueError, match="expected 1111"):
            imdb.load_texts()
        assert not (folder / "aclImdb_v1.tar.gz").exists()


def test_published_imdb_constants():
    # tensorflow/datasets: tensorflow_datasets/datasets/imdb_reviews/checksums.tsv
    assert imdb.ORIGIN == "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
    assert imdb.SHA256 == "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
    assert imdb.ARCHIVE_SIZE == 84_125_825
