"""The data adapter: the single place where a user's arrays become what the C++ graph steps
read. It checks and casts inputs (through the C++ boundary, `Graph.prepare_input`) and targets
(`Loss.prepare_targets`), builds per-sample weights from `sample_weight` and `class_weight`,
splits off validation data and owns the model's shuffling generator. A mixin of
`models.Model`; the trainer slices its results into batches.
"""

from __future__ import annotations

import numpy as np

from .. import _validation as V
from ..utils import draw_seed


class DataAdapter:
    """User arrays -> checked float32/int32 arrays (a mixin of `models.Model`)."""

    def _prepare_x(self, x, what="x"):
        """The caller's input arrays as the C++ graph reads them (int32 ids or float32
        features), each checked whole by the C++ boundary (dtype, shape, token-id range), so an
        error gives the position in the caller's data."""
        arrays = x if isinstance(x, (list, tuple)) and len(self.inputs) > 1 else [x]
        if len(arrays) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input arrays, "
                             f"received {len(arrays)}.")
        graph = self._core_graph()
        graph_inputs, sources = self._graph_inputs()
        for i, a in enumerate(arrays):
            if a is None:
                raise TypeError(f"`{what}` is None; expected an array of shape "
                                f"{self.inputs[i].shape}.")
        out = []
        for i, (inp, (source, preprocessing)) in enumerate(zip(graph_inputs, sources)):
            a = arrays[source]
            if preprocessing is not None:  # raw strings -> (B, L) token ids
                a = preprocessing(a)
            try:
                arr = np.asarray(a)
            except ValueError as e:  # ragged nested lists
                raise ValueError(f"Input {source} of model '{self.name}' must be a rectangular array "
                                 "of shape (B, T); pad the sequences to one length first "
                                 f"(e.g. TextVectorization(output_sequence_length=T)). ({e})"
                                 ) from None
            if arr.ndim >= 1 and arr.shape[0] == 0:
                raise ValueError(f"`{what}` is empty: received an array of shape {arr.shape}.")
            out.append(graph.prepare_input(i, arr, [-1 if d is None else d for d in inp.shape],
                                           f"Input {source} of model '{self.name}'"))
        sizes = [len(a) for a in out]
        if len(set(sizes)) > 1:
            raise ValueError(f"Model '{self.name}': every input array must hold the same number "
                             f"of samples; received {sizes} for {what}.")
        return out

    def _prepare_ys(self, y, n):
        """Targets as one float32 array per output, checked against that output's loss."""
        if y is None:
            raise ValueError(f"Model '{self.name}': fit/evaluate need targets `y`.")
        trained = [name for name, l in zip(self.output_names, self._losses) if l is not None]
        if len(trained) == 1 and (not isinstance(y, (list, tuple, dict)) or (
                len(self.outputs) == 1 and not isinstance(y, dict))):
            y = {trained[0]: y}  # one output: a Python list of labels is its targets (Keras)
        if isinstance(y, dict):
            missing = [name for name in trained if name not in y]
            if missing:
                raise ValueError(f"`y` has no targets for outputs {missing}.")
            ys = [y.get(name) for name in self.output_names]
        elif isinstance(y, (list, tuple)) and len(y) == len(self.outputs):
            ys = list(y)
        else:
            raise ValueError(f"Model '{self.name}' has {len(self.outputs)} outputs "
                             f"{self.output_names}: give `y` as a list or a dict of as many "
                             "target arrays.")
        # Outputs without a loss take no targets (an empty placeholder for the C++ call).
        return [self._prepare_target(t, n, out, loss) if loss is not None
                else np.zeros(0, np.float32)
                for t, out, loss in zip(ys, self.outputs, self._losses)]

    def _prepare_target(self, y, n, output, loss):
        """One output's targets, checked whole by the C++ loss (numeric, one per prediction,
        labels in range) so errors give positions in the caller's array."""
        if isinstance(y, (list, tuple)):
            try:
                y = np.asarray(y)  # Keras takes Python lists of labels
            except ValueError as e:
                raise ValueError(f"`y` for output '{output.name}' of model '{self.name}' must be "
                                 f"a rectangular array; received ragged nested lists ({e})."
                                 ) from None
        # An axis the model leaves open (a sequence of any length T) takes the targets' size
        # there; every step checks the real prediction shape again in C++ (Loss::check).
        y_shape = np.shape(y)
        pred_shape = [n] + [d if d is not None else y_shape[i] if 0 < i < len(y_shape) else 1
                            for i, d in enumerate(output.shape[1:], start=1)]
        return loss._core().prepare_targets(y, pred_shape,
                                            f"output '{output.name}' of model '{self.name}'")

    @staticmethod
    def _batch_size(batch_size):
        return 32 if batch_size is None else V.positive_int("batch_size", batch_size)

    def _shuffle_rng(self):
        """The model's shuffling generator, drawn once from the global seeded generator. It is
        part of the saved state, so a resumed run shuffles as the uninterrupted one would."""
        if self._rng is None:
            self._rng = np.random.default_rng(draw_seed())
        return self._rng

    def _validation_arrays(self, validation_data):
        if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
            raise ValueError("`validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, "
                             f"val_sample_weight); received {type(validation_data).__name__}"
                             + (f" of length {len(validation_data)}"
                                if isinstance(validation_data, (list, tuple)) else ""))
        vx = self._prepare_x(validation_data[0], "validation_data[0]")
        vn = vx[0].shape[0]
        vy = self._prepare_ys(validation_data[1], vn)
        vw = (self._sample_weights(validation_data[2], None, vy, vn, "validation sample_weight")
              if len(validation_data) == 3 else None)
        return vx, vy, vw

    def _split_validation(self, xs, ys, weights, split):
        """Keras: the last `split` fraction of the samples, before shuffling, validates."""
        split = V.number("validation_split", split, low=0.0, high=1.0, high_open=True)
        n = xs[0].shape[0]
        at = int(np.floor(n * (1.0 - split)))
        if at == 0 or at == n:
            raise ValueError(f"Training data contains {n} samples, which is not sufficient to "
                             f"split it into a validation and training set as specified by "
                             f"`validation_split={split}`. Either provide more data, or a "
                             "different value for the `validation_split` argument.")

        def cut(arrays, part):
            return [a[part] if a.size else a for a in arrays]

        head, tail = slice(0, at), slice(at, n)
        val = (cut(xs, tail), cut(ys, tail), None if weights is None else weights[tail])
        return cut(xs, head), cut(ys, head), None if weights is None else weights[head], val

    def _sample_weights(self, sample_weight, class_weight, ys, n, what="sample_weight"):
        """Per-sample loss weights (B,) float32 from sample_weight and class_weight, or None."""
        if sample_weight is None and class_weight is None:
            return None
        trained = [i for i, l in enumerate(self._losses) if l is not None]
        for i in trained if class_weight is not None else ():
            # A sample weight weighs every step of its sequence; a class weight would need
            # one weight per step (Keras refuses class_weight for such targets too).
            rows = int(np.prod(self.outputs[i].shape[1:-1] or (1,)))
            if rows != 1:
                raise ValueError(f"Model '{self.name}': class_weight weighs whole samples by "
                                 f"their class; output {self.output_names[i]!r} has one "
                                 f"prediction per time step {self.outputs[i].shape}, which is "
                                 "not supported. Pass sample_weight (one weight per sequence) "
                                 "instead.")
        w = np.ones(n, np.float32)
        if sample_weight is not None:
            sw = np.asarray(sample_weight)
            if sw.dtype.kind not in "biuf":
                raise TypeError(f"`{what}` must be numeric; received dtype {sw.dtype}.")
            if sw.ndim == 2 and sw.shape[1] == 1:
                sw = sw[:, 0]
            if sw.shape != (n,):
                raise ValueError(f"`{what}` must have shape ({n},), one weight per sample; "
                                 f"received shape {sw.shape}.")
            bad = ~np.isfinite(sw) | (sw < 0)
            if bad.any():
                j = int(np.argmax(bad))
                raise ValueError(f"`{what}` must hold finite non-negative numbers; received "
                                 f"{sw[j].item()!r} at index {j}.")
            w *= sw.astype(np.float32)
        if class_weight is not None:
            w *= self._class_weights(class_weight, ys, trained)
        return np.ascontiguousarray(w)

    def _class_weights(self, class_weight, ys, trained):
        if not isinstance(class_weight, dict):
            raise TypeError(f"`class_weight` must be a dict {{class id: weight}}; received "
                            f"{class_weight!r}")
        if len(self.outputs) != 1 or len(trained) != 1:
            raise ValueError("`class_weight` is only supported for Models with a single output.")
        table = {}
        for k, v in class_weight.items():
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
                raise ValueError(f"`class_weight` keys must be class ids (non-negative ints); "
                                 f"received {k!r}")
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) \
                    or not np.isfinite(v) or v < 0:
                raise ValueError(f"`class_weight[{k}]` must be a finite non-negative number; "
                                 f"received {v!r}")
            table[int(k)] = float(v)
        labels = ys[trained[0]].reshape(len(ys[trained[0]]), -1)
        if labels.shape[1] != 1:
            raise ValueError("`class_weight` needs one class id per sample; received targets "
                             f"of shape {ys[trained[0]].shape}.")
        labels = labels[:, 0]
        if np.any(labels != np.round(labels)):
            raise ValueError("`class_weight` needs integer class labels (0/1 for "
                             "binary_crossentropy); received soft labels.")
        return np.array([table.get(int(c), 1.0) for c in labels], np.float32)
