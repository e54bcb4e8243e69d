"""Hand-built dataset files and a local HTTP server for test_datasets.py / test_download.py.

Nothing here reads ../shared/data: the fixtures are written by the tests into tmp_path.
"""

from __future__ import annotations

import csv
import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path

# The 6-review IMDB fixture: (split, review id, rating, text). Label: rating >= 7.
# Worked out by hand (see test_datasets.py): training word counts good 5, bad 4, film 3,
# a 2, cast 2, dull 1 -> ranks good 1, bad 2, film 3, a 4, cast 5 ("a" < "cast"), dull 6.
IMDB_REVIEWS = [
    ("train", 0, 1, "Bad bad film.<br /><br />Bad!"),
    ("train", 0, 9, "A good film, a GOOD cast."),
    ("train", 1, 2, "Dull film; bad cast."),
    ("train", 1, 10, "Good, good, good!"),
    ("test", 0, 3, "Awful film, unseen words, bad bad film."),
    ("test", 0, 8, "A good cast, a good film!"),
]


def label_of(rating):
    return int(rating >= 7)


def imdb_members(reviews=IMDB_REVIEWS, root="aclImdb"):
    """(relative path, bytes) of an aclImdb tree, with the files the loaders must ignore."""
    out = []
    for split, rid, rating, text in reviews:
        cls = "pos" if rating >= 7 else "neg"
        out.append((f"{root}/{split}/{cls}/{rid}_{rating}.txt", text.encode("utf-8")))
    out += [
        (f"{root}/README", b"Large Movie Review Dataset v1.0\n"),
        (f"{root}/imdb.vocab", b"the\nand\n"),
        (f"{root}/train/labeledBow.feat", b"0 0:1\n"),
        (f"{root}/train/urls_pos.txt", b"http://www.imdb.com/title/tt0000000/usercomments\n"),
        (f"{root}/train/unsup/0_0.txt", b"An unlabelled review that must be ignored."),
    ]
    return out


def write_imdb_folder(base: Path, reviews=IMDB_REVIEWS) -> Path:
    for rel, data in imdb_members(reviews):
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return base / "aclImdb"


def imdb_tar_bytes(reviews=IMDB_REVIEWS) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        folders = set()
        for rel, data in imdb_members(reviews):
            parts = rel.split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in folders:
                    folders.add(d)
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(rel)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_imdb_tar(path: Path, reviews=IMDB_REVIEWS) -> Path:
    path.write_bytes(imdb_tar_bytes(reviews))
    return path


def write_imdb_csv(path: Path, reviews=IMDB_REVIEWS) -> Path:
    """The train.csv layout: id,rating,label,text; training reviews in (id, neg first) order."""
    rows = sorted(((rid, label_of(r), r, t) for s, rid, r, t in reviews if s == "train"),
                  key=lambda row: (row[0], row[1]))
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "rating", "label", "text"])
        for rid, label, rating, text in rows:
            w.writerow([rid, rating, label, text])
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -------------------------------------------------------------------------- HTTP server
class FileServer:
    """A local HTTP server in a thread serving ``files`` {url path: bytes}.

    It honours ``Range: bytes=N-`` (206 + Content-Range) unless ``ignore_range``. Behaviour
    per request, consumed in order: ``script`` is a list of actions, each None (serve
    normally), an int N (send the full headers, then only N body bytes and drop the
    connection) or ("status", code) (answer with that HTTP error). ``requests`` records
    (path, Range header or None) of every request.
    """

    def __init__(self, files, chunk=1 << 14):
        self.files = dict(files)
        self.script = []
        self.ignore_range = False
        self.requests = []
        self.chunk = chunk
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                owner.requests.append((self.path, self.headers.get("Range")))
                action = owner.script.pop(0) if owner.script else None
                if isinstance(action, tuple):
                    self.send_error(action[1])
                    return
                data = owner.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and not owner.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range",
                                     f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if isinstance(action, int):
                    body = body[:action]      # then the connection drops
                for i in range(0, len(body), owner.chunk):
                    self.wfile.write(body[i:i + owner.chunk])
                    self.wfile.flush()
                self.close_connection = True

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)

    def url(self, path):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
