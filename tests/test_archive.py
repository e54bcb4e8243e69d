"""The seqattn file container: round trips, atomic writes, and every kind of bad file.

Bad files are built by hand (a helper rewrites an archive's members), so each test names the
one thing that is wrong and checks that loading refuses it with a FileFormatError naming the
path, without unpickling or executing anything.
"""

import io
import json
import os
import pickle
import re
import signal
import time
import struct
import subprocess
import sys
import textwrap
import zipfile
from datetime import datetime

import numpy as np
import numpy.lib.format
import pytest

import seqattn
from seqattn import archive
from seqattn.archive import (FORMAT_NAME, FORMAT_VERSION, FileFormatError, is_archive,
                             read_archive, write_archive)

CONFIG = {"name": "model", "layers": [{"class_name": "Dense", "units": 3}], "ünï": "cödé"}
STATE = {"epoch": 4, "best": float("inf"), "rng": {"state": 2**100, "inc": 7}}


def small_arrays():
    return {"weights/0000": np.arange(6, dtype=np.float32).reshape(2, 3),
            "weights/0001": np.array([-1.5, 2.25], np.float64),
            "optimizer/iterations": np.array(7, np.int64)}


def save(path, arrays=None, kind="model", config=CONFIG, state=STATE):
    write_archive(path, kind=kind, config=config, state=state,
                  arrays=small_arrays() if arrays is None else arrays)


def rezip(src, dst, replace=None, drop=(), add=None, compression=None):
    """Copies the archive `src` to `dst`, replacing, dropping or adding members."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename in drop:
                continue
            data = replace.get(info.filename, zin.read(info))
            zout.writestr(info.filename, data, compress_type=compression or info.compress_type)
        for name, data in add.items():
            zout.writestr(name, data)


def edit_metadata(src, dst, edit):
    with zipfile.ZipFile(src) as zf:
        metadata = json.loads(zf.read("metadata.json"))
    edit(metadata)
    rezip(src, dst, replace={"metadata.json": json.dumps(metadata).encode()})


def npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def assert_refused(path, *fragments, expected_kind=None):
    with pytest.raises(FileFormatError) as info:
        read_archive(path, expected_kind=expected_kind)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def assert_same_arrays(actual, expected):
    assert list(actual) == list(expected)
    for name, array in expected.items():
        assert actual[name].dtype == array.dtype.newbyteorder("<"), name
        assert actual[name].shape == array.shape, name
        assert actual[name].tobytes() == np.ascontiguousarray(array).astype(
            array.dtype.newbyteorder("<")).tobytes(), name


class MarkerPayload:
    """Unpickling this creates `path`: proof that a loader unpickled something."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


# ------------------------------------------------------------------------------ round trips

def test_round_trip_every_dtype_is_bit_exact(tmp_path):
    rng = np.random.default_rng(0)
    floats = rng.standard_normal(50)
    floats[:4] = [np.nan, np.inf, -np.inf, -0.0]
    arrays = {
        "f32": floats.astype(np.float32).reshape(5, 10),
        "f64": floats.reshape(2, 5, 5),
        "i32": rng.integers(-2**31, 2**31, 7, dtype=np.int32),
        "i64": rng.integers(-2**63, 2**63 - 1, (3, 1), dtype=np.int64),
        "u8": rng.integers(0, 256, 9, dtype=np.uint8),
        "u32": np.array([0, 2**32 - 1], np.uint32),
        "u64": np.array([0, 2**64 - 1], np.uint64),
        "bool": np.array([[True, False], [False, True]]),
        "scalar/f32": np.array(3.5, np.float32),
        "scalar/bool": np.array(True),
        "empty/f32": np.zeros((0, 3), np.float32),
        "empty/i64": np.zeros((4, 0, 2), np.int64),
        "big-endian": np.arange(5, dtype=">f8"),
        "strided": np.arange(20, dtype=np.int32).reshape(4, 5)[:, ::2],
        "fortran": np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4)),
        # 24 MB: more than one of write_array's 16 MB chunks.
        "large": rng.standard_normal(3_000_000),
    }
    path = tmp_path / "m.seqattn"
    write_archive(path, kind="model", config=CONFIG, state=STATE, arrays=arrays)
    archive = read_archive(path, expected_kind="model")
    assert archive.kind == "model"
    assert archive.config == CONFIG
    assert archive.state == STATE
    assert_same_arrays(archive.arrays, arrays)
    assert np.array_equal(archive.arrays["big-endian"], arrays["big-endian"])
    meta = archive.metadata
    assert (meta["format"], meta["format_version"]) == (FORMAT_NAME, FORMAT_VERSION)
    assert (FORMAT_NAME, FORMAT_VERSION) == ("seqattn", 1)
    assert meta["seqattn_version"] == seqattn.__version__
    assert datetime.fromisoformat(meta["created"]).utcoffset().total_seconds() == 0
    assert meta["arrays"]["f32"] == {"dtype": "<f4", "shape": [5, 10]}
    assert meta["arrays"]["scalar/bool"] == {"dtype": "|b1", "shape": []}


def test_layout_is_plain_zip_and_npy(tmp_path):
    """Standard tools can inspect the file: np.load reads every member on its own."""
    path = tmp_path / "w.seqattn"
    save(path, kind="weights")
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["metadata.json", "config.json", "state.json",
                                 "arrays/weights/0000.npy", "arrays/weights/0001.npy",
                                 "arrays/optimizer/iterations.npy"]
        assert json.loads(zf.read("config.json")) == CONFIG
        stored = np.load(io.BytesIO(zf.read("arrays/weights/0000.npy")))
    assert np.array_equal(stored, small_arrays()["weights/0000"])


def test_paths_str_and_pathlike_and_state_default(tmp_path):
    write_archive(str(tmp_path / "a"), kind="weights", config={}, arrays={})
    archive = read_archive(str(tmp_path / "a"))
    assert (archive.kind, archive.config, archive.state, archive.arrays) == ("weights", {}, {}, {})
    assert is_archive(tmp_path / "a") and is_archive(str(tmp_path / "a"))


def test_deflated_members_are_readable(tmp_path):
    save(tmp_path / "m")
    rezip(tmp_path / "m", tmp_path / "d", compression=zipfile.ZIP_DEFLATED)
    assert_same_arrays(read_archive(tmp_path / "d").arrays, small_arrays())


def test_kind_mismatch(tmp_path):
    path = tmp_path / "w.seqattn"
    save(path, kind="weights")
    assert read_archive(path, expected_kind="weights").kind == "weights"
    assert_refused(path, "weights file", "model file was expected", expected_kind="model")
    with pytest.raises(ValueError, match="expected_kind"):
        read_archive(path, expected_kind="checkpoint")


# ------------------------------------------------------------------------------ write checks

@pytest.mark.parametrize("array", [np.array([object()], dtype=object), np.zeros(2, np.float16),
                                   np.zeros(2, np.complex64), np.array(["a"]),
                                   np.zeros(2, [("x", "<f4")]), [1.0, 2.0]],
                         ids=["object", "float16", "complex64", "str", "structured", "list"])
def test_write_rejects_unsupported_arrays(tmp_path, array):
    with pytest.raises(TypeError, match="'weights/0003'"):
        save(tmp_path / "m", arrays={"weights/0003": array})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["", "../evil", "/abs", "a//b", "a/./b", "a/..", "sp ace",
                                  "back\\slash", "x" * 201])
def test_write_rejects_unsafe_names(tmp_path, name):
    with pytest.raises(ValueError, match="Invalid array name"):
        save(tmp_path / "m", arrays={name: np.zeros(1, np.float32)})
    assert os.listdir(tmp_path) == []


def test_write_rejects_bad_kind_config_and_state(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        save(tmp_path / "m", kind="checkpoint")
    with pytest.raises(TypeError, match="`config` is not JSON-serialisable"):
        save(tmp_path / "m", config={"f": object()})
    with pytest.raises(TypeError, match="`state`"):
        save(tmp_path / "m", state=[1, 2])
    assert os.listdir(tmp_path) == []


def test_write_to_directory_or_missing_directory(tmp_path):
    with pytest.raises(IsADirectoryError):
        save(tmp_path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        save(tmp_path / "nowhere" / "m.seqattn")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------ atomic writes

@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError(28, "No space left on device")])
def test_failure_mid_write_keeps_old_file(tmp_path, monkeypatch, error):
    path = tmp_path / "m.seqattn"
    save(path, config={"old": True})
    old = path.read_bytes()
    original, calls = numpy.lib.format.write_array, []

    def failing_write_array(fp, array, *args, **kwargs):
        calls.append(array.shape)
        if len(calls) == 2:  # after the first array reached the temp file
            raise error
        return original(fp, array, *args, **kwargs)

    monkeypatch.setattr(numpy.lib.format, "write_array", failing_write_array)
    with pytest.raises(type(error) if isinstance(error, Exception) else error):
        save(path, config={"old": False})
    assert len(calls) == 2
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["m.seqattn"]  # no temporary file left behind
    assert read_archive(path).config == {"old": True}


CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np, numpy.lib.format
    from seqattn.archive import write_archive

    original = numpy.lib.format.write_array
    def write_then_stall(fp, array, *args, **kwargs):
        original(fp, array, *args, **kwargs)
        if array.size > 1000:  # the big array is half on disk: tell the parent, then wait
            print("stalled", flush=True)
            time.sleep(60)
    numpy.lib.format.write_array = write_then_stall
    write_archive(sys.argv[1], kind="model", config={"old": False}, arrays={
        "a/0": np.ones(10, np.float32), "a/1": np.ones((1000, 1000), np.float32),
        "a/2": np.ones(10, np.float32)})
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_write_keeps_old_file(tmp_path):
    path = tmp_path / "m.seqattn"
    save(path, config={"old": True})
    old = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline() == "stalled\n"
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == old
    assert read_archive(path).config == {"old": True}
    # The killed writer leaves its hidden, half-written temp file, never a damaged target;
    # the name says which process on which host wrote it.
    leftovers = [name for name in os.listdir(tmp_path) if name != "m.seqattn"]
    assert len(leftovers) == 1, leftovers
    assert re.fullmatch(rf"\.m\.seqattn\.{archive._host_tag()}-{child.pid}\.[0-9a-f]{{8}}\.tmp",
                        leftovers[0]), leftovers[0]
    assert (tmp_path / leftovers[0]).stat().st_size > 4_000_000
    assert not is_archive(tmp_path / leftovers[0])
    # The next save of the target removes it: its writer is gone.
    save(path, config={"new": True})
    assert os.listdir(tmp_path) == ["m.seqattn"]
    assert read_archive(path).config == {"new": True}


@pytest.mark.skipif(os.name != "posix", reason="pids are checked with os.kill(pid, 0)")
def test_stale_temp_files_are_removed_only_when_their_writer_is_gone(tmp_path):
    """Only our own temp names for this target, whose writer is provably gone (a dead pid on
    this host, or, when that cannot be asked, a day without change) are removed; a live
    writer's file, this process's, other targets' and any other name stay."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # reaped: its pid names no process (a zombie would still count as alive)
    host = archive._host_tag()
    other_host = "00000000" if host != "00000000" else "11111111"
    dead, live = finished.pid, sleeper.pid
    old = time.time() - 2 * 86400
    try:
        kept = [f".m.seqattn.{host}-{live}.0123abcd.tmp",        # a save in progress
                f".m.seqattn.{host}-{os.getpid()}.0123abcd.tmp",  # this process (a thread)
                f".m.seqattn.{other_host}-{dead}.0123abcd.tmp",  # another host's, fresh
                ".m.seqattn.0123abcd.tmp",                       # an older seqattn's, fresh
                f".other.seqattn.{host}-{dead}.0123abcd.tmp",    # another target's
                f".m.seqattn.{host}-{dead}.0123abcd.tmp.bak",    # not our pattern:
                f"m.seqattn.{host}-{dead}.0123abcd.tmp",
                f".m.seqattn.{host}-{dead}.0123ABCD.tmp",
                f".m.seqattn.{host}-{dead}.0123abc.tmp",
                ".m.seqattn.tmp", "notes.txt"]
        removed = [f".m.seqattn.{host}-{dead}.89abcdef.tmp",     # its writer died
                   ".m.seqattn.89abcdef.tmp",                    # an older seqattn's, old
                   f".m.seqattn.{other_host}-{dead}.fedcba98.tmp"]  # another host's, old
        for name in kept + removed:
            (tmp_path / name).write_bytes(b"partial")
        for name in (".m.seqattn.89abcdef.tmp", f".m.seqattn.{other_host}-{dead}.fedcba98.tmp",
                     "notes.txt"):
            os.utime(tmp_path / name, (old, old))
        # Not regular files, though named like a dead writer's: never touched.
        os.mkdir(tmp_path / f".m.seqattn.{host}-{dead}.00000000.tmp")
        outside = tmp_path / "outside"
        outside.write_bytes(b"precious")
        os.symlink(outside, tmp_path / f".m.seqattn.{host}-{dead}.11111111.tmp")
        kept += [f".m.seqattn.{host}-{dead}.00000000.tmp", f".m.seqattn.{host}-{dead}.11111111.tmp",
                 "outside"]

        save(tmp_path / "m.seqattn")
        assert sorted(os.listdir(tmp_path)) == sorted(kept + ["m.seqattn"])
        assert outside.read_bytes() == b"precious"
        sleeper.kill()
        sleeper.wait()
        save(tmp_path / "m.seqattn")  # now that writer is gone too
        assert f".m.seqattn.{host}-{live}.0123abcd.tmp" not in os.listdir(tmp_path)
        assert len(os.listdir(tmp_path)) == len(kept)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_cleaning_up_never_fails_a_save(tmp_path, monkeypatch):
    """A temp file that vanishes or cannot be removed (a concurrent save got there first, a
    permission) is skipped: the save itself goes on."""
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    stale = tmp_path / f".m.seqattn.{archive._host_tag()}-{finished.pid}.0123abcd.tmp"
    stale.write_bytes(b"partial")
    unlink = os.unlink

    def refusing_unlink(path, *args, **kwargs):
        if os.fspath(path) == str(stale):
            raise PermissionError(13, "Permission denied", str(path))
        return unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", refusing_unlink)
    save(tmp_path / "m.seqattn", config={"v": 1})
    assert read_archive(tmp_path / "m.seqattn").config == {"v": 1}
    assert stale.exists()


def test_file_and_directory_are_fsynced(tmp_path, monkeypatch):
    """Durability cannot be tested without a power cut; check that both fsyncs happen."""
    synced, fsync = [], os.fsync

    def recording_fsync(fd):
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}") if os.path.isdir("/proc") else fd)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    save(tmp_path / "m")
    assert len(synced) == 2
    if os.path.isdir("/proc"):
        assert synced[0].startswith(str(tmp_path / ".m.")) and synced[1] == str(tmp_path)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_permissions_like_open(tmp_path):
    previous = os.umask(0o027)
    try:
        save(tmp_path / "new")
        with open(tmp_path / "by_open", "wb"):
            pass
    finally:
        os.umask(previous)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "by_open").stat().st_mode & 0o777 == 0o640
    os.chmod(tmp_path / "new", 0o604)
    save(tmp_path / "new")  # replacing keeps an existing file's mode, as open("wb") does
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o604


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_is_written_through(tmp_path):
    save(tmp_path / "real", config={"v": 1})
    os.symlink("real", tmp_path / "link")
    save(tmp_path / "link", config={"v": 2})
    assert os.path.islink(tmp_path / "link")
    assert read_archive(tmp_path / "real").config == {"v": 2}
    assert sorted(os.listdir(tmp_path)) == ["link", "real"]


# ------------------------------------------------------------------------------ bad files

def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        read_archive(tmp_path / "missing.seqattn")
    assert "missing.seqattn" in str(info.value)
    with pytest.raises(IsADirectoryError) as info:
        read_archive(tmp_path)
    assert str(tmp_path) in str(info.value)
    assert not is_archive(tmp_path / "missing.seqattn") and not is_archive(tmp_path)


@pytest.mark.parametrize("cut", ["0 bytes", "3 bytes", "10 bytes", "half", "last byte missing"])
def test_truncated_file(tmp_path, cut):
    path = tmp_path / "m.seqattn"
    save(path)
    data = path.read_bytes()
    keep = {"0 bytes": 0, "3 bytes": 3, "10 bytes": 10, "half": len(data) // 2,
            "last byte missing": len(data) - 1}[cut]
    path.write_bytes(data[:keep])
    assert_refused(path, "empty" if keep == 0 else "truncated")
    assert not is_archive(path)


def test_flipped_byte_in_array_data_fails_the_crc(tmp_path):
    path = tmp_path / "m.seqattn"
    values = np.arange(1000, dtype=np.float32)
    save(path, arrays={"weights/0000": values})
    data = bytearray(path.read_bytes())
    at = bytes(data).index(values[500:502].tobytes())
    data[at] ^= 0x01
    path.write_bytes(data)
    assert_refused(path, "corrupted", "CRC", "arrays/weights/0000.npy")


def test_flipped_byte_in_deflated_array_data_is_refused(tmp_path):
    save(tmp_path / "m", arrays={"weights/0000": np.arange(1000, dtype=np.float32)})
    rezip(tmp_path / "m", tmp_path / "d", compression=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(tmp_path / "d") as zf:
        info = zf.getinfo("arrays/weights/0000.npy")
    data = bytearray((tmp_path / "d").read_bytes())
    start = info.header_offset + 30 + len(info.filename)  # local header, no extra field
    data[start + info.compress_size - 8] ^= 0x01  # near the end: not caught by zlib alone
    (tmp_path / "d").write_bytes(data)
    assert_refused(tmp_path / "d", "corrupted", "arrays/weights/0000.npy")


def test_truncations_and_byte_flips_are_refused_or_harmless(tmp_path):
    """A small fuzz: any damage gives FileFormatError, or (bytes zip ignores, such as a
    timestamp) exactly the original content; never another exception."""
    path, damaged = tmp_path / "m.seqattn", tmp_path / "d.seqattn"
    arrays = {"w": np.arange(3, dtype=np.float32)}
    save(path, arrays=arrays, config={"c": 1}, state={})
    data, harmless = path.read_bytes(), 0
    for keep in [*range(0, len(data), 7), *range(len(data) - 30, len(data))]:
        damaged.write_bytes(data[:keep])
        with pytest.raises(FileFormatError):
            read_archive(damaged)
    for at in range(len(data)):
        flipped = bytearray(data)
        flipped[at] ^= 0x5A
        damaged.write_bytes(flipped)
        try:
            archive = read_archive(damaged)
        except FileFormatError as e:
            assert str(damaged) in str(e)
            continue
        harmless += 1
        assert (archive.config, archive.state) == ({"c": 1}, {})
        assert_same_arrays(archive.arrays, arrays)
    assert harmless < len(data) // 3  # ~20%: timestamps, attributes, local copies of sizes


def write_png(path):
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)


def write_text(path):
    path.write_text("model weights, honest\n")


def write_npz(path):
    with open(path, "wb") as f:
        np.savez(f, a=np.zeros(3))


def write_npy(path):
    path.write_bytes(npy_bytes(np.zeros(3)))


def write_keras(path):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.16.0",
                                                 "date_saved": "2025-01-01@00:00:00"}))
        zf.writestr("config.json", json.dumps({"class_name": "Sequential"}))
        zf.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)


def write_empty_zip(path):
    zipfile.ZipFile(path, "w").close()


@pytest.mark.parametrize("write, says", [
    (write_png, "PNG"), (write_text, "not a ZIP"), (write_npz, ".npz"), (write_npy, ".npy"),
    (write_keras, "Keras"), (write_empty_zip, "empty ZIP")])
def test_foreign_files(tmp_path, write, says):
    path = tmp_path / "foreign"
    write(path)
    assert_refused(path, "not a seqattn file", says)
    assert not is_archive(path)


def test_pickle_file_is_never_unpickled(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(MarkerPayload(marker), protocol=4))
    assert_refused(path, "pickle")
    assert not is_archive(path)
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the payload is live: unpickling would have run it
    assert marker.exists()


def test_object_npy_member_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "executed"
    payload = npy_bytes(np.array([MarkerPayload(marker)], dtype=object), allow_pickle=True)
    save(tmp_path / "m", arrays={"weights/0000": np.zeros(1, np.float32)})
    # The member swapped under an honest declaration: its header disagrees.
    rezip(tmp_path / "m", tmp_path / "swapped", replace={"arrays/weights/0000.npy": payload})
    assert_refused(tmp_path / "swapped", "object", "declares float32")
    # The declaration changed too: object is not a dtype a seqattn file may hold.
    edit_metadata(tmp_path / "swapped", tmp_path / "declared",
                  lambda m: m["arrays"]["weights/0000"].update(dtype="|O"))
    assert_refused(tmp_path / "declared", "unsupported dtype '|O'")
    assert not marker.exists()
    np.load(io.BytesIO(payload), allow_pickle=True)  # the payload is live
    assert marker.exists()


def test_missing_members(tmp_path):
    save(tmp_path / "m")
    for member in ["config.json", "state.json", "arrays/weights/0001.npy"]:
        rezip(tmp_path / "m", tmp_path / "bad", drop=[member])
        assert_refused(tmp_path / "bad", "missing", member)
    rezip(tmp_path / "m", tmp_path / "bad", drop=["metadata.json"])
    assert_refused(tmp_path / "bad", "not a seqattn file", "without metadata.json")


def test_duplicate_member_names_are_refused(tmp_path):
    """zipfile would silently read the last copy; a doctored file could hide one."""
    save(tmp_path / "m")
    with zipfile.ZipFile(tmp_path / "m") as zf:
        config = zf.read("config.json")
    with pytest.warns(UserWarning, match="Duplicate name"):
        rezip(tmp_path / "m", tmp_path / "bad", add={"config.json": config})
    assert_refused(tmp_path / "bad", "duplicate")


def test_undeclared_member_is_refused(tmp_path):
    save(tmp_path / "m")
    rezip(tmp_path / "m", tmp_path / "bad", add={"arrays/weights/0002.npy": npy_bytes(np.zeros(2))})
    assert_refused(tmp_path / "bad", "undeclared", "arrays/weights/0002.npy")


@pytest.mark.parametrize("member", ["../../evil.npy", "/etc/evil", "arrays/../../evil.npy"])
def test_path_traversal_members_are_refused(tmp_path, member):
    save(tmp_path / "m")
    rezip(tmp_path / "m", tmp_path / "bad", add={member: b"x"})
    assert_refused(tmp_path / "bad", "undeclared")


@pytest.mark.parametrize("name", ["../../evil", "/abs", "a/../b"])
def test_path_traversal_array_names_are_refused(tmp_path, name):
    save(tmp_path / "m", arrays={"weights/0000": np.zeros(2)})
    with zipfile.ZipFile(tmp_path / "m") as zf:
        member = zf.read("arrays/weights/0000.npy")
        metadata = json.loads(zf.read("metadata.json"))
    metadata["arrays"] = {name: metadata["arrays"]["weights/0000"]}
    rezip(tmp_path / "m", tmp_path / "bad", drop=["arrays/weights/0000.npy"],
          replace={"metadata.json": json.dumps(metadata).encode()},
          add={f"arrays/{name}.npy": member})
    assert_refused(tmp_path / "bad", "invalid array name")


def test_future_format_version(tmp_path):
    save(tmp_path / "m")

    def from_the_future(metadata):
        metadata.update(format_version=FORMAT_VERSION + 1, seqattn_version="9.0.0",
                        arrays="a new layout")
    edit_metadata(tmp_path / "m", tmp_path / "future", from_the_future)
    assert_refused(tmp_path / "future", "seqattn 9.0.0", f"version {FORMAT_VERSION + 1}",
                   "Upgrade seqattn")
    assert is_archive(tmp_path / "future")


@pytest.mark.parametrize("edit, says", [
    (lambda m: m.update(format="seqattn-ish"), "not a seqattn file"),
    (lambda m: m.update(format_version=0), "invalid format_version"),
    (lambda m: m.update(format_version=True), "invalid format_version"),
    (lambda m: m.update(kind="checkpoint"), "invalid kind"),
    (lambda m: m.pop("arrays"), "'arrays'"),
    (lambda m: m["arrays"]["weights/0000"].update(shape=[3, 2]), "declares float32 (3, 2)"),
    (lambda m: m["arrays"]["weights/0000"].update(shape=[1000]), "needs 4000 plus a header"),
    (lambda m: m["arrays"]["weights/0000"].update(shape=[-2, -3]), "invalid shape"),
    (lambda m: m["arrays"]["weights/0000"].update(dtype="<i4"), "declares int32"),
    (lambda m: m["arrays"]["weights/0000"].update(dtype=">f4"), "unsupported dtype"),
    (lambda m: m["arrays"].pop("weights/0001"), "undeclared"),
    (lambda m: m["arrays"].update({"weights/0009": {"dtype": "<f4", "shape": [1]}}), "missing"),
], ids=["format", "version-0", "version-bool", "kind", "no-arrays", "shape", "shape-size",
        "negative-shape", "dtype", "big-endian", "undeclared", "missing"])
def test_metadata_disagreeing_with_the_file(tmp_path, edit, says):
    save(tmp_path / "m")
    edit_metadata(tmp_path / "m", tmp_path / "bad", edit)
    assert_refused(tmp_path / "bad", says)


def test_npy_member_with_extra_bytes(tmp_path):
    save(tmp_path / "m")
    with zipfile.ZipFile(tmp_path / "m") as zf:
        member = zf.read("arrays/weights/0000.npy")
    rezip(tmp_path / "m", tmp_path / "bad",
          replace={"arrays/weights/0000.npy": member + b"\x00" * 16})
    assert_refused(tmp_path / "bad", "arrays/weights/0000.npy", "16 bytes more")


def test_zip_bomb_sizes_are_refused_before_reading(tmp_path):
    """A member whose directory entry claims 2 GiB is refused from the sizes alone."""
    path = tmp_path / "m"
    save(path)
    data = bytearray(path.read_bytes())
    name = b"arrays/weights/0000.npy"
    entry = bytes(data).index(name, bytes(data).index(b"PK\x01\x02")) - 46  # central entry
    assert data[entry:entry + 4] == b"PK\x01\x02"
    struct.pack_into("<I", data, entry + 24, 2**31 - 1)  # uncompressed size
    path.write_bytes(data)
    assert_refused(path, "impossible size", name.decode())


@pytest.mark.parametrize("config_json, says", [
    (b'{"a": 1, "a": 2}', "duplicate keys"), (b"[1, 2]", "not a JSON object"),
    (b'{"a": ', "not valid JSON"), (b"\xff\xfe{}", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON")],
    ids=["duplicate-keys", "list", "truncated", "not-utf8", "deeply-nested"])
def test_bad_json(tmp_path, config_json, says):
    save(tmp_path / "m")
    rezip(tmp_path / "m", tmp_path / "bad", replace={"config.json": config_json})
    assert_refused(tmp_path / "bad", "config.json", says)


def test_unsupported_compression_and_encryption(tmp_path):
    save(tmp_path / "m")
    rezip(tmp_path / "m", tmp_path / "bz2", compression=zipfile.ZIP_BZIP2)
    assert_refused(tmp_path / "bz2", "unsupported compression")
    data = bytearray((tmp_path / "m").read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := bytes(data).find(signature, start)) >= 0:
            data[start + flags_at] |= 0x1  # "encrypted" in the local and central headers
            start += 4
    (tmp_path / "enc").write_bytes(data)
    assert_refused(tmp_path / "enc", "encrypted")


def test_prefixed_zip_is_not_accepted(tmp_path):
    """Data before the archive (a polyglot, e.g. an image with a ZIP appended) is refused,
    though zipfile itself would read it."""
    save(tmp_path / "m")
    (tmp_path / "poly").write_bytes(b"\x89PNG\r\n\x1a\n" + (tmp_path / "m").read_bytes())
    with zipfile.ZipFile(tmp_path / "poly") as zf:
        assert "metadata.json" in zf.namelist()
    assert_refused(tmp_path / "poly", "not a seqattn file", "PNG")
