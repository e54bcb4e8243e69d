"""The FMA peak (cpp/fma_peak.cpp, seqattn.utils.fma_peak): the yardstick benchmarks/compare.py
divides every workload's GFLOP/s by. A peak is an upper bound, so no real kernel may beat it."""
import math
import time

import numpy as np
import pytest

import seqattn
from seqattn import _core


def gemm_gflops(n=512, repeats=5):
    """The best of a few runs of seqattn's own GEMM, n^3, on the library's threads."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    c = np.zeros((n, n), np.float32)
    _core._gemm(a, b, c, False, None, False, False, False)  # warm-up: packing buffers
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        _core._gemm(a, b, c, False, None, False, False, False)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def test_peak_is_positive_and_finite():
    peak = seqattn.utils.fma_peak(threads=1, seconds=0.05)
    assert isinstance(peak, float) and math.isfinite(peak) and peak > 0


@pytest.mark.parametrize("threads", [1, 2])
def test_peak_is_above_a_real_gemm_on_as_many_threads(threads):
    before = seqattn.get_num_threads()
    try:
        seqattn.set_num_threads(threads)
        gemm = gemm_gflops()
        # The best of three: on a machine shared with other jobs one short run may lose its
        # core for part of the time; the GEMM above is the best of five for the same reason.
        peak = max(seqattn.utils.fma_peak(seconds=0.05) for _ in range(3))
    finally:
        seqattn.set_num_threads(before)
    assert peak >= gemm, f"FMA peak {peak:.1f} GFLOP/s below the 512^3 GEMM's {gemm:.1f}"


def test_kernel_is_named_in_build_info():
    name = seqattn.build_info()["fma_peak_kernel"]
    assert name.split()[0] in ("AVX-512", "AVX2+FMA", "AVX2", "SSE2")
    assert "12 x" in name


@pytest.mark.parametrize("kwargs,name", [
    ({"threads": 0}, "threads"), ({"threads": -2}, "threads"), ({"threads": 1.5}, "threads"),
    ({"threads": True}, "threads"), ({"seconds": 0}, "seconds"), ({"seconds": -1.0}, "seconds"),
    ({"seconds": float("nan")}, "seconds"), ({"seconds": float("inf")}, "seconds"),
    ({"seconds": 1e6}, "seconds"),
])
def test_bad_arguments_raise_naming_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        seqattn.utils.fma_peak(**kwargs)


def test_seconds_must_be_a_number():
    with pytest.raises(TypeError, match="seconds"):
        seqattn.utils.fma_peak(seconds="0.1")


@pytest.mark.parametrize("args,name", [((0, 0.1), "threads"), ((1, 0.0), "seconds"),
                                       ((1, float("nan")), "seconds"),
                                       ((1, float("inf")), "seconds")])
def test_binding_checks_its_arguments_too(args, name):
    with pytest.raises(ValueError, match=name):
        _core.fma_peak_gflops(*args)


def test_compare_share_column():
    """benchmarks/compare.py's "% sgemm" and "% FMA peak" cells."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "compare.py"
    spec = importlib.util.spec_from_file_location("compare_for_test", path)
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)
    assert compare.share(50.0, {2: 200.0}, 2) == "25%"
    assert compare.share(50.0, {1: 200.0}, 2) == "–"   # not measured at that thread count
    assert compare.share(50.0, {2: 0.0}, 2) == "–"
