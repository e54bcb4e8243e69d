"""The training loop, as Keras's Trainer: `compile`, `fit`, `evaluate`, `predict`, the
`*_on_batch` methods and `attention_scores`, over the model's C++ graph.

A training step (forward, loss, backward, update) is one C++ call with the GIL released;
Python slices batches, runs callbacks and reports progress. User arrays reach these loops only
through the data adapter (`trainers.data_adapter`); running logs are kept by
`trainers.epoch_tracker`. A mixin of `models.Model`: it uses the model's graph (`_core_graph`,
`outputs`, `_nodes`) and its threading rule (`_usage`).
"""

from __future__ import annotations

import contextlib
import copy

import numpy as np

from .. import _validation as V
from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import optimizers as optimizers_mod
from .._usage import reads as _reads, trains as _trains
from ..callbacks import CallbackList, History, ProgbarLogger
from ..progress import resolve_verbose
from .epoch_tracker import EpochTracker


class Trainer:
    """compile, fit, evaluate, predict and friends (a mixin of `models.Model`)."""

    # The seqattn.distributed strategy this model trains under (set by its distribute()):
    # fit and train_on_batch then shard the data and reduce gradients across ranks.
    _distribution = None

    @_trains("compile")
    def compile(self, optimizer="adam", loss=None, loss_weights=None, metrics=None):
        """Configures training.

        Args:
            optimizer: "sgd", "adam", "adamw", "rmsprop", "adagrad" or an optimizer object.
                (Keras defaults to "rmsprop"; the default here is "adam".)
            loss: a name ("sparse_categorical_crossentropy", "categorical_crossentropy",
                "binary_crossentropy", "mse", "mae", "huber", ...), a seqattn.losses function
                or a loss object;
                for several outputs, one loss for all, a list (one per output) or a dict
                keyed by output name.
            loss_weights: for several outputs, a list or dict of floats (default 1 each).
            metrics: a list such as ["accuracy"] (applied to every output), or, for several
                outputs, a list of lists or a dict keyed by output name.
        """
        if loss is None:
            raise ValueError(f"Model '{self.name}': compile() needs a `loss`, e.g. "
                             "loss='sparse_categorical_crossentropy'.")
        self._optimizer = optimizers_mod.get(optimizer)
        self._losses = [None if l is None else losses_mod.get(l)
                        for l in self._per_output(loss, "loss")]
        for l, t in zip(self._losses, self.outputs):
            if l is not None and t.node.layer.hidden:
                raise ValueError(f"Output {t.name!r} holds attention scores, which carry no "
                                 "gradient: give it no loss (None in a list, or leave it out "
                                 "of a loss dict).")
        if all(l is None for l in self._losses):
            raise ValueError(f"Model '{self.name}': compile() needs a loss for at least one "
                             "output.")
        self._loss_weights = [V.number("loss_weights", w) for w in
                              self._per_output(1.0 if loss_weights is None else loss_weights,
                                               "loss_weights")]
        if metrics is None:
            metrics = []
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple, dict)):
            raise TypeError(f"`metrics` must be a list, e.g. ['accuracy']. Received: "
                            f"metrics={metrics!r}")
        nested = isinstance(metrics, dict) or (metrics and isinstance(metrics[0], (list, tuple)))
        per_output = self._per_output(metrics, "metrics") if nested else [metrics] * len(
            self.outputs)
        self._metrics = [[metrics_mod.get(self._own_metric(m), l) for m in ms or []]
                         if l is not None else [] for ms, l in zip(per_output, self._losses)]
        self._check_metrics()
        self._compile_graph()

    @staticmethod
    def _own_metric(m):
        """A metric object given to compile is copied, so outputs never share counts."""
        return metrics_mod.from_config(m.get_config()) if isinstance(m, metrics_mod.Metric) else m

    def _check_metrics(self):
        """Each metric sees an empty batch of its output's shape now, so a metric that cannot
        read that output fails at compile, not mid-epoch; duplicate log names get a suffix
        ("precision_1"), as in Keras."""
        for ms, output, loss in zip(self._metrics, self.outputs, self._losses):
            shape = (0,) + tuple(1 if d is None else d for d in output.shape[1:])
            # Class ids for the sparse loss; targets shaped like the outputs for the others.
            sparse = shape[-1] > 1 and not getattr(loss, "_targets_like_outputs", False)
            for m in ms:
                m.update_state(np.zeros(shape[:-1] if sparse else shape, np.float32),
                               np.zeros(shape, np.float32))
                m.reset_state()
            seen = {}
            for m in ms:
                if m.name in seen:
                    seen[m.name] += 1
                    m.name = f"{m.name}_{seen[m.name]}"
                else:
                    seen[m.name] = 0

    def _per_output(self, value, what):
        """One entry per output from a single value, a list or a dict by output name."""
        n = len(self.outputs)
        if isinstance(value, dict):
            unknown = set(value) - set(self.output_names)
            if unknown:
                raise ValueError(f"`{what}` names unknown outputs {sorted(unknown)}; the outputs "
                                 f"are {self.output_names}.")
            return [value.get(name) for name in self.output_names]
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise ValueError(f"`{what}` must have one entry per output ({n}), received "
                                 f"{len(value)}.")
            return list(value)
        return [value] * n

    def _compile_graph(self):
        if self._graph is None:
            self._core_graph()  # builds, then comes back here
            return
        self._graph.compile([None if l is None else l._core() for l in self._losses],
                            self._loss_weights,
                            self._optimizer.core)

    @property
    def optimizer(self):
        return self._optimizer

    @property
    def loss(self):
        """The loss (a list of losses for a model with several outputs)."""
        if self._losses is None:
            return None
        return self._losses[0] if len(self._losses) == 1 else list(self._losses)

    def _require_compiled(self, what):
        if self._losses is None:
            raise RuntimeError(f"You must call compile() before {what}() on model '{self.name}'.")

    @_trains("fit")
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, validation_batch_size=None,
            validation_freq=1):
        """Trains the model; returns a `History` (also kept as `model.history`).

        Arguments and their order follow Keras 3:
            x, y: input arrays and targets (lists or dicts for several inputs/outputs).
            batch_size: default 32. epochs: train until this epoch index.
            verbose: 0 silent, 1 progress bar, 2 one line per epoch, "auto".
            callbacks: a list of seqattn.callbacks.Callback.
            validation_split: fraction in [0, 1) of the data held out for validation: the
                LAST samples, taken before any shuffling. Ignored when validation_data is given.
            validation_data: (x_val, y_val) or (x_val, y_val, val_sample_weight).
            shuffle: reshuffle the training samples every epoch (the model's own seeded
                generator, saved with the model so a resumed run continues the sequence).
            class_weight: {class id: weight} for a single-output model; multiplies the loss
                of every sample of that class (classes not listed weigh 1).
            sample_weight: (B,) non-negative per-sample loss weights (times class_weight).
            initial_epoch: epoch to start from (to resume a run).
            validation_batch_size: default batch_size. validation_freq: validate every N epochs.

        Ctrl-C stops within one training step and leaves the model usable (KeyboardInterrupt
        propagates to the caller).

        Under seqattn.distributed (MPIStrategy.distribute): batch_size is per rank, each rank
        trains on its DistributedSampler shard, logs and history are global figures, and an
        error on one rank aborts the job (see README "Training on several processes").
        """
        dist = self._distribution
        with dist.guard() if dist is not None else contextlib.nullcontext():
            return self._fit(x, y, batch_size, epochs, verbose, callbacks, validation_split,
                             validation_data, shuffle, class_weight, sample_weight,
                             initial_epoch, validation_batch_size, validation_freq)

    def _fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
             validation_data, shuffle, class_weight, sample_weight, initial_epoch,
             validation_batch_size, validation_freq):
        self._require_compiled("fit")
        xs = self._prepare_x(x)
        n = xs[0].shape[0]
        ys = self._prepare_ys(y, n)
        weights = self._sample_weights(sample_weight, class_weight, ys, n)
        batch_size = self._batch_size(batch_size)
        epochs = V.positive_int("epochs", epochs)
        if isinstance(initial_epoch, bool) or not isinstance(initial_epoch, (int, np.integer)) \
                or not 0 <= initial_epoch < epochs:
            raise ValueError(f"`initial_epoch` must be an int in [0, epochs); received "
                             f"initial_epoch={initial_epoch!r} with epochs={epochs}.")
        initial_epoch = int(initial_epoch)
        V.boolean("shuffle", shuffle)
        verbose = resolve_verbose(verbose)
        validation_freq = V.positive_int("validation_freq", validation_freq)
        val_batch_size = (batch_size if validation_batch_size is None
                          else V.positive_int("validation_batch_size", validation_batch_size))
        val = None
        if validation_data is not None:
            val = self._validation_arrays(validation_data)
        elif validation_split:
            xs, ys, weights, val = self._split_validation(xs, ys, weights, validation_split)
            n = xs[0].shape[0]
        self._core_graph()  # built before the loop: _train_batch steps self._graph
        dist = self._distribution
        sampler = None
        if dist is not None:  # this rank's shard; only rank 0 prints and writes files
            sampler = dist.sampler(n, shuffle)
            verbose = self._rank_verbose(verbose)
            callbacks = dist.rank_callbacks(self._callback_list(callbacks))
        steps = -(-(n if sampler is None else sampler.num_samples) // batch_size)
        history = History()
        # History after the user's callbacks, as in Keras 3: it records what they add
        # (learning_rate); then the progress bar, which shows it.
        cbs = CallbackList(self._with_progbar(callbacks, verbose, history), model=self,
                           verbose=verbose, epochs=epochs, steps=steps,
                           validation_freq=validation_freq)  # plot_history places val_* by it
        self.stop_training = False
        self._initial_epoch = None
        cbs.on_train_begin()
        # BackupAndRestore sets _initial_epoch in on_train_begin, after restoring the state
        # (the shuffling generator included, so it is read only now), as in Keras 3.
        if self._initial_epoch is not None:
            initial_epoch, self._initial_epoch = self._initial_epoch, None
        rng = self._shuffle_rng()
        logs = {}
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            if sampler is not None:
                order = sampler.indices(epoch)
            else:
                order = rng.permutation(n) if shuffle else np.arange(n)
            tracker = self._tracker()
            for step in range(steps):
                cbs.on_train_batch_begin(step)
                idx = order[step * batch_size:(step + 1) * batch_size]
                yb = [t[idx] if t.size else t for t in ys]  # empty: an output without loss
                self._train_batch([a[idx] for a in xs], yb,
                                  None if weights is None else weights[idx], tracker)
                batch_logs = self._logs_of(tracker)
                cbs.on_train_batch_end(step, batch_logs)
                if dist is not None:  # a callback on one rank stops every rank
                    self.stop_training = dist.any(self.stop_training)
                if self.stop_training:
                    break
            logs = self._logs_of(tracker)
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_arrays(*val, val_batch_size, cbs)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, logs)  # callbacks may add keys (learning_rate)
            if dist is not None:
                self.stop_training = dist.any(self.stop_training)
            self._epoch = epoch + 1
            if self.stop_training:
                break
        cbs.on_train_end(logs)
        self.history = history
        return history

    def _train_batch(self, xb, yb, wb, tracker):
        """One C++ training step (forward, loss, backward, update) and the running logs."""
        if self._distribution is not None:  # gradients allreduced between two C++ calls
            self._distribution.train_batch(self, xb, yb, wb, tracker)
            return
        graph = self._graph
        self._optimizer._update_learning_rate()  # a schedule sets this step's rate
        loss, losses, outputs, masks = graph.train_step(xb, yb, wb, tracker.needs_outputs)
        tracker.update(len(xb[0]), loss, losses, yb, outputs, masks)

    def _rank_verbose(self, verbose):
        """Under a distribution strategy only rank 0 prints (evaluate and predict run whole on
        every rank that calls them)."""
        dist = self._distribution
        return verbose if dist is None or dist.is_chief else 0

    def _logs_of(self, tracker):
        """The tracker's logs; under a distribution strategy, over every rank's samples."""
        if self._distribution is not None:
            return self._distribution.global_logs(tracker)
        return tracker.logs()

    @staticmethod
    def _callback_list(callbacks):
        if callbacks is None:
            return []
        if not isinstance(callbacks, (list, tuple)):
            raise TypeError("`callbacks` must be a list of seqattn.callbacks.Callback objects; "
                            f"received {callbacks!r}")
        return callbacks

    @classmethod
    def _with_progbar(cls, callbacks, verbose, history=None):
        """The user's callbacks, then `history`, then a ProgbarLogger when verbose and the
        user gave none (Keras 3's CallbackList): a ProgbarLogger the user passes replaces the
        default one, so there is only ever one bar."""
        cbs = list(cls._callback_list(callbacks)) + ([history] if history is not None else [])
        if verbose and not any(isinstance(cb, ProgbarLogger) for cb in cbs):
            cbs.append(ProgbarLogger())
        return cbs

    def _tracker(self, own_metrics=False):
        """Running logs; with own_metrics, over copies of the compiled metrics, so evaluate
        calls in several threads never share counts (fit uses the model's own: it runs
        alone)."""
        metrics = ([[copy.deepcopy(m) for m in ms] for ms in self._metrics] if own_metrics
                   else self._metrics)
        return EpochTracker(self.output_names, metrics,
                             [loss is not None for loss in self._losses])

    @_trains("train_on_batch")
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One training step on one batch. As in Keras 3, the returned loss and metrics are
        running means over the *_on_batch calls since the last `reset_metrics()`."""
        self._require_compiled("train_on_batch")
        xs = self._prepare_x(x)
        ys = self._prepare_ys(y, xs[0].shape[0])
        w = self._sample_weights(sample_weight, class_weight, ys, xs[0].shape[0])
        self._core_graph()
        if self._batch_tracker is None:
            self._batch_tracker = self._tracker()
        self._train_batch(xs, ys, w, self._batch_tracker)
        return self._logs_result(self._logs_of(self._batch_tracker), return_dict)

    @_reads("test_on_batch")
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch in inference mode (running means since the last
        `reset_metrics()`, as Keras 3)."""
        self._require_compiled("test_on_batch")
        xs = self._prepare_x(x)
        ys = self._prepare_ys(y, xs[0].shape[0])
        w = self._sample_weights(sample_weight, None, ys, xs[0].shape[0])
        graph = self._core_graph()
        if self._batch_tracker is None:
            self._batch_tracker = self._tracker()
        loss, losses, outputs, masks = graph.test_step(xs, ys, w)
        self._batch_tracker.update(len(xs[0]), loss, losses, ys, outputs, masks)
        return self._logs_result(self._batch_tracker.logs(), return_dict)

    @_reads("predict_on_batch")
    def predict_on_batch(self, x):
        """Outputs for one batch in inference mode (no batching, no progress)."""
        outputs = self._core_graph().predict_step(self._prepare_x(x))
        return outputs[0] if self._single_output else outputs

    def reset_metrics(self):
        """Restarts the running means reported by train_on_batch / test_on_batch."""
        self._batch_tracker = None

    @staticmethod
    def _logs_result(logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_arrays(self, xs, ys, weights, batch_size, cbs=None):
        graph = self._core_graph()
        n = xs[0].shape[0]
        tracker = self._tracker(own_metrics=True)
        steps = -(-n // batch_size)
        if cbs is not None:
            cbs.on_test_begin()
        for step in range(steps):
            if cbs is not None:
                cbs.on_test_batch_begin(step)
            sl = slice(step * batch_size, (step + 1) * batch_size)
            xb = [a[sl] for a in xs]
            yb = [t[sl] if t.size else t for t in ys]  # empty: an output without loss
            loss, losses, outputs, masks = graph.test_step(
                xb, yb, None if weights is None else weights[sl])
            tracker.update(len(xb[0]), loss, losses, yb, outputs, masks)
            if cbs is not None:
                cbs.on_test_batch_end(step, tracker.logs())
        logs = tracker.logs()
        if cbs is not None:
            cbs.on_test_end(logs)
        return logs

    @_reads("evaluate")
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 callbacks=None, return_dict=False):
        """Loss (and metrics) in inference mode: a float, a list in `logs` order (loss first),
        or a dict with return_dict=True. Arguments in Keras 3 order."""
        self._require_compiled("evaluate")
        xs = self._prepare_x(x)
        n = xs[0].shape[0]
        ys = self._prepare_ys(y, n)
        weights = self._sample_weights(sample_weight, None, ys, n)
        batch_size = self._batch_size(batch_size)
        verbose = self._rank_verbose(resolve_verbose(verbose))
        cbs = CallbackList(self._with_progbar(callbacks, verbose), model=self, verbose=verbose,
                           epochs=1, steps=-(-n // batch_size))
        logs = self._evaluate_arrays(xs, ys, weights, batch_size, cbs)
        return self._logs_result(logs, return_dict)

    @_reads("predict")
    def predict(self, x, batch_size=None, verbose="auto", callbacks=None):
        """Outputs for `x` in inference mode, computed in batches (default 32): an array, or a
        list of arrays for a model with several outputs."""
        xs = self._prepare_x(x)
        batch_size = self._batch_size(batch_size)
        graph = self._core_graph()
        n = xs[0].shape[0]
        steps = -(-n // batch_size)
        verbose = self._rank_verbose(resolve_verbose(verbose))
        cbs = CallbackList(self._with_progbar(callbacks, verbose), model=self, verbose=verbose,
                           epochs=1, steps=steps)
        cbs.on_predict_begin()
        outs = []
        for step in range(steps):
            cbs.on_predict_batch_begin(step)
            sl = slice(step * batch_size, (step + 1) * batch_size)
            outs.append(graph.predict_step([a[sl] for a in xs]))
            cbs.on_predict_batch_end(step, {"outputs": outs[-1]})
        cbs.on_predict_end()
        merged = [np.concatenate(parts, axis=0) for parts in zip(*outs)]
        return merged[0] if self._single_output else merged

    @_reads("attention_scores")
    def attention_scores(self, x, batch_size=None):
        """Attention probabilities of every MultiHeadAttention layer, in inference mode.

        Returns a dict {layer name: (B, H, T, S) array}, the probabilities before dropout (rows
        of padded queries are zero). Computed in batches like `predict`.
        """
        from ..layers.attention import MultiHeadAttention
        # Every attention call, also those inside composite blocks (TransformerEncoder's is
        # named "<block>/self_attention"), in model order.
        attention = [n.layer for n in self._nodes if isinstance(n.layer, MultiHeadAttention)]
        if not attention:
            raise ValueError(f"Model '{self.name}' has no MultiHeadAttention layer.")
        xs = self._prepare_x(x)
        batch_size = self._batch_size(batch_size)
        graph = self._core_graph()
        scores = {layer.name: [] for layer in attention}
        for start in range(0, xs[0].shape[0], batch_size):
            _, batch = graph.predict_step([a[start:start + batch_size] for a in xs],
                                          [layer._core for layer in attention])
            for layer, p in zip(attention, batch):
                scores[layer.name].append(p)
        return {name: np.concatenate(parts, axis=0) for name, parts in scores.items()}

    @_reads("__call__")
    def __call__(self, x):
        """Inference on one batch of arrays, like `predict` without batching or progress."""
        outputs = self._core_graph().predict_step(self._prepare_x(x))
        return outputs[0] if self._single_output else outputs

    @_reads("_compute_gradients")
    def _compute_gradients(self, x, y, training=False):
        """(total loss, dL/dweight for every weight in get_weights order), without an update."""
        self._require_compiled("compute_gradients")
        xs = self._prepare_x(x)
        loss, flat = self._core_graph().compute_gradients(xs, self._prepare_ys(y, len(xs[0])),
                                                          training)
        # The C++ graph lists parameters in node order; regroup them per layer.
        by_layer, start = {}, 0
        for node in self._core_nodes():
            if id(node.layer) not in by_layer and not node.layer.hidden:
                n = len(node.layer.get_weights())
                by_layer[id(node.layer)] = flat[start:start + n]
                start += n
        return loss, [g for owner in self.layers for sub in owner._weight_layers()
                      for g in by_layer[id(sub)]]
