"""`seqattn.load_model("m.keras")`: a Keras 3 file made of layers seqattn has, rebuilt as a
seqattn model that predicts as Keras does. Nothing from the file is executed; every field is
checked (config.json by keras_config.py and the `.seqattn` builder, model.weights.h5 here) and
every problem is a FileFormatError naming the file and the field. Sizes are checked before
anything is allocated: the zip members against their compressed sizes (no zip bomb), the
architecture's weights against the weight arrays the file holds (the `.seqattn` budget), and
each array's shape against the weight it fills before its data is read. The model comes back
uncompiled (Keras's compile settings and optimizer variables are not read)."""

from __future__ import annotations

import errno
import io
import json
import math
import os
import sys
import zipfile

import numpy as np

from ... import archive
from ...archive.format import (
    _DAMAGE, _DEFLATE_MAX_RATIO, _MAX_JSON_BYTES, _MAX_NDIM, _ZIP_SIGNATURE)
from ...utils import global_rng
from ..budget import _WeightBudget
from ..builder import _Builder
from ..checks import _Reader, _cut
from .h5 import require_h5py
from .keras_config import translate
from .layer_maps import snake_case, weight_paths

_MEMBERS = ("metadata.json", "config.json", "model.weights.h5")
_MAX_H5_OBJECTS = 1_000_000   # groups and datasets in model.weights.h5


def load_model(path, custom_objects=None, compile=True, safe_mode=True):
    """custom_objects, compile and safe_mode are accepted for Keras code: a custom class in
    the file is refused (it is code), the model is returned uncompiled, and loading is always
    safe."""
    h5py = require_h5py()
    shown = os.fsdecode(path)
    config_bytes, weights_bytes = _read_zip(shown)
    reader = _Reader(shown, "config.json")
    try:
        config = json.loads(config_bytes, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise reader.error(f"is not valid JSON ({_cut(e, 200)})") from None
    reader.tree(config)
    ours = translate(reader, config)
    mask_checks = ours.pop("_mask_checks", [])
    try:
        f = h5py.File(io.BytesIO(weights_bytes), "r")
    except Exception as e:  # h5py raises OSError, ValueError, ... on a damaged file
        raise archive.FileFormatError(f"{shown}: model.weights.h5 is not a readable HDF5 file "
                                      f"({type(e).__name__}: {_cut(e, 200)})") from None
    with f:
        weights = _H5(h5py, f, shown)
        total = sum(math.prod(ds.shape) for path, ds in weights.datasets.items()
                    if path.startswith("layers/"))
        builder = _Builder(reader, "(config.json as seqattn reads it)",
                           _WeightBudget(total, reader))
        rng_state = global_rng().bit_generator.state  # building draws initial weights
        try:
            model = builder.build(ours)
        except RecursionError:
            raise reader.error(f"the architecture is too deep to rebuild (deeper than Python's "
                               f"recursion limit, {sys.getrecursionlimit()})") from None
        finally:
            global_rng().bit_generator.state = rng_state
        for key, lname, field in mask_checks:
            tensor = builder.tensors.get(key)
            if tensor is None or not tensor.has_mask:
                raise reader.error(f"`{field}`: Keras passes layer {archive.brief(lname)} a "
                                   "padding mask that seqattn's graph does not carry to it "
                                   "(seqattn's masks come from Embedding(mask_zero=True) and "
                                   "flow as in Keras)")
        weights.fill(model, _groups(model, ours))
    return model


def load_weights(model, path):
    """`model.load_weights("m.keras")` or `("m.weights.h5")`: the weights of a Keras 3 model
    file or Keras weights file into a seqattn model of the same architecture (Keras's h5
    layout: each layer's group as Keras numbers it for this architecture)."""
    h5py = require_h5py()
    shown = os.fsdecode(path)
    model._require_built("load_weights")
    if shown.endswith(".keras"):
        _, data = _read_zip(shown)
        source = io.BytesIO(data)
    else:
        if os.path.isdir(shown):
            raise IsADirectoryError(errno.EISDIR, "Is a directory, not a weights file", shown)
        with open(shown, "rb") as f:  # opened here: a missing file is FileNotFoundError
            source = io.BytesIO(f.read())
    try:
        f = h5py.File(source, "r")
    except Exception as e:
        raise archive.FileFormatError(f"{shown}: is not a readable HDF5 file "
                                      f"({type(e).__name__}: {_cut(e, 200)})") from None
    from .writer import keras_config
    with f:
        weights = _H5(h5py, f, shown)
        weights.fill(model, keras_config(model)[1])


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _groups(model, ours):
    """{layer name: its h5 group}, numbered as Keras numbers them (see graph.py)."""
    if ours["class_name"] == "Sequential":  # Keras's Sequential.layers skips the input
        counts, groups = {}, {}
        for layer in model.layers:
            group = snake_case(type(layer).__name__)
            k = counts[group] = counts.get(group, -1) + 1
            groups[layer.name] = group + (f"_{k}" if k else "")
        return groups
    from .writer import keras_config
    return keras_config(model)[1]


def _read_zip(shown):
    if os.path.isdir(shown):
        raise IsADirectoryError(errno.EISDIR, "Is a directory, not a Keras file", shown)
    with open(shown, "rb") as f:
        head = f.read(4)
        size = f.seek(0, os.SEEK_END)
        f.seek(0)
        if head != _ZIP_SIGNATURE:
            raise archive.FileFormatError(f"{shown}: not a Keras 3 `.keras` file (not a ZIP "
                                          f"archive; starts with {head!r})")
        try:
            with zipfile.ZipFile(f) as zf:
                infos = zf.infolist()
                names = [i.filename for i in infos]
                extra = [n for n in names if n not in _MEMBERS]
                if extra:
                    raise archive.FileFormatError(
                        f"{shown}: holds {archive.brief(extra[0])}; a Keras file seqattn reads "
                        f"holds only {', '.join(_MEMBERS)} (assets belong to layers seqattn "
                        "does not have)")
                if len(set(names)) != len(names):
                    raise archive.FileFormatError(f"{shown}: repeats a zip member")
                for need in _MEMBERS[1:]:
                    if need not in names:
                        raise archive.FileFormatError(f"{shown}: has no {need}; not a Keras 3 "
                                                      "model file")
                for info in infos:
                    _check_member(shown, info, size)
                return zf.read("config.json"), zf.read("model.weights.h5")
        except archive.FileFormatError:
            raise
        except (*_DAMAGE, OSError) as e:
            if isinstance(e, OSError) and e.errno != errno.EINVAL:
                raise
            raise archive.FileFormatError(f"{shown}: is truncated or corrupted "
                                          f"({type(e).__name__}: {_cut(e, 300)})") from e


def _check_member(shown, info, size):
    """Sizes from the zip directory, before any decompression (a zip bomb is refused)."""
    where = f"{shown}: {info.filename}"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise archive.FileFormatError(f"{where} uses zip compression method "
                                      f"{info.compress_type}; Keras writes stored or deflated")
    if info.compress_size > size:
        raise archive.FileFormatError(f"{where} claims {info.compress_size:,} compressed bytes, "
                                      f"more than the file's {size:,}: truncated or corrupted")
    limit = (info.compress_size if info.compress_type == zipfile.ZIP_STORED
             else info.compress_size * _DEFLATE_MAX_RATIO + 64)
    if info.file_size > limit:
        raise archive.FileFormatError(f"{where} claims {info.file_size:,} bytes from "
                                      f"{info.compress_size:,} compressed ones, more than "
                                      "deflate can produce (a zip bomb or a damaged file)")
    if info.filename.endswith(".json") and info.file_size > _MAX_JSON_BYTES:
        raise archive.FileFormatError(f"{where} is {info.file_size:,} bytes; seqattn reads "
                                      f"JSON members up to {_MAX_JSON_BYTES:,}")


class _H5:
    """The datasets of model.weights.h5, found through hard links only (a soft or external
    link could name another file), each a plain float array stored in the file itself."""

    def __init__(self, h5py, f, shown):
        self.h5py, self.shown, self.datasets = h5py, shown, {}
        try:
            self._walk(f)
        except archive.FileFormatError:
            raise
        except Exception as e:
            raise self.error(f"cannot be read ({type(e).__name__}: {_cut(e, 200)})") from None

    def error(self, problem):
        return archive.FileFormatError(f"{self.shown}: model.weights.h5: {problem}")

    def _walk(self, f):
        h5py, stack, seen = self.h5py, [("", f)], 0
        while stack:
            path, group = stack.pop()
            for key in group.keys():
                full = f"{path}/{key}" if path else key
                if full == "optimizer":  # optimizer variables: not read (see the docstring)
                    continue
                seen += 1
                if seen > _MAX_H5_OBJECTS:
                    raise self.error(f"holds more than {_MAX_H5_OBJECTS:,} groups and arrays")
                link = group.get(key, getlink=True)
                if not isinstance(link, h5py.HardLink):
                    raise self.error(f"`{full}` is a {type(link).__name__}; seqattn follows "
                                     "only the file's own (hard) links")
                obj = group[key]
                if isinstance(obj, h5py.Group):
                    stack.append((full, obj))
                elif isinstance(obj, h5py.Dataset):
                    if obj.external or obj.is_virtual:
                        raise self.error(f"`{full}` keeps its data outside the file")
                    if obj.shape is None or len(obj.shape) > _MAX_NDIM:
                        raise self.error(f"`{full}` has shape {archive.brief(obj.shape)}")
                    if obj.dtype.kind != "f" or obj.dtype.itemsize not in (2, 4, 8):
                        raise self.error(f"`{full}` holds {obj.dtype}, not floats")
                    self._check_storage(full, obj)
                    self.datasets[full] = obj
                else:
                    raise self.error(f"`{full}` is a {type(obj).__name__}")

    def _check_storage(self, full, ds):
        """What an array claims against the bytes the file stores for it: the weight budget
        trusts these shapes, so a (10**6, 10**6) array backed by nothing (unwritten chunks read
        as the fill value) or by a tiny compressed chunk must not pass."""
        claimed = math.prod(ds.shape) * ds.dtype.itemsize
        stored = ds.id.get_storage_size()
        if claimed > stored * _DEFLATE_MAX_RATIO + 64:
            raise self.error(f"`{full}` claims {claimed:,} bytes of shape {tuple(ds.shape)} "
                             f"from {stored:,} stored ones (a crafted or damaged array)")

    def fill(self, model, groups):
        """Each layer's weights from its h5 paths: shapes checked before any data is read."""
        unused = {p for p in self.datasets if p.startswith("layers/")}
        for layer in model.layers:
            current = layer.get_weights()
            if not current:
                continue
            cls = type(layer).__name__
            arrays = []
            for path, w in zip(weight_paths(cls, len(current)), current):
                full = f"layers/{groups[layer.name]}/{path}"
                ds = self.datasets.get(full)
                if ds is None:
                    raise self.error(f"has no `{full}`, weight {len(arrays)} of layer "
                                     f"'{layer.name}' ({cls}), shape {w.shape}")
                if tuple(ds.shape) != tuple(w.shape):
                    raise self.error(f"`{full}` has shape {tuple(ds.shape)}, but weight "
                                     f"{len(arrays)} of layer '{layer.name}' ({cls}) has shape "
                                     f"{tuple(w.shape)}")
                try:
                    value = np.asarray(ds[()], dtype=np.float32)
                except Exception as e:
                    raise self.error(f"`{full}` cannot be read ({type(e).__name__}: "
                                     f"{_cut(e, 200)})") from None
                if not np.isfinite(value).all():
                    raise self.error(f"`{full}` holds inf or nan")
                arrays.append(value)
                unused.discard(full)
            layer.set_weights(arrays)
        if unused:
            raise self.error(f"holds {len(unused)} weight array(s) no layer of the model "
                             f"uses, such as `{sorted(unused)[0]}`")
