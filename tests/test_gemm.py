"""gemm (cpp/gemm.cpp), the product under every Dense layer and attention projection, against
a float64 NumPy oracle and against its plain reference loop (gemm_reference)."""
import numpy as np
import pytest

import seqattn
from seqattn import _core

# Shapes around the kernel's tile edges (MR 6/12 rows, NR 8/16/32 columns, KC 256 depth)
# and the models' own shapes.
SHAPES = [(1, 1, 1), (5, 7, 3), (12, 32, 256), (13, 33, 257), (37, 65, 300), (200, 96, 32),
          (100, 31, 513), (640, 64, 32), (64, 640, 96),
          (32, 64, 6400), (20, 33, 2049)]  # one tile of C, deep k: the split-k path


def run(a, b, c, accumulate=False, bias=None, ta=False, tb=False, reference=False, relu=False):
    c = np.ascontiguousarray(c, dtype=np.float32).copy()
    _core._gemm(a, b, c, accumulate, bias, ta, tb, reference, relu)
    return c


@pytest.mark.parametrize("m,n,k", SHAPES)
@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False)])
@pytest.mark.parametrize("accumulate", [False, True])
def test_gemm_matches_float64(m, n, k, ta, tb, accumulate):
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    bias = None if accumulate else rng.standard_normal(n).astype(np.float32)
    a64 = a.T.astype(np.float64) if ta else a.astype(np.float64)
    b64 = b.T.astype(np.float64) if tb else b.astype(np.float64)
    want = a64 @ b64 + (c0.astype(np.float64) if accumulate else bias.astype(np.float64))
    got = run(a, b, c0, accumulate, bias, ta, tb)
    ref = run(a, b, c0, accumulate, bias, ta, tb, reference=True)
    tol = 1e-5 * np.sqrt(k) * (np.abs(a64) @ np.abs(b64) + 1.0)
    assert np.all(np.abs(got - want) <= tol)
    assert np.all(np.abs(ref - want) <= tol)
    assert np.all(np.abs(got - ref) <= tol)


@pytest.mark.parametrize("m,n,k", [(13, 33, 257), (37, 65, 600), (200, 96, 32)])
@pytest.mark.parametrize("accumulate", [False, True])
def test_gemm_fused_relu(m, n, k, accumulate):
    # ReLU applied once, to the final value (k spans several KC blocks in two of the shapes)
    rng = np.random.default_rng(k)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c0 = rng.standard_normal((m, n)).astype(np.float32)
    bias = None if accumulate else rng.standard_normal(n).astype(np.float32)
    z = a.astype(np.float64) @ b + (c0 if accumulate else bias)
    got = run(a, b, c0, accumulate, bias, relu=True)
    ref = run(a, b, c0, accumulate, bias, reference=True, relu=True)
    tol = 1e-5 * np.sqrt(k) * (np.abs(a) @ np.abs(b) + 1.0)
    assert np.all(np.abs(got - np.maximum(z, 0.0)) <= tol)
    assert np.all(np.abs(ref - np.maximum(z, 0.0)) <= tol)
    assert (got >= 0).all() and (got[z < -tol] == 0).all()


def test_gemm_without_bias_overwrites():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((29, 40)).astype(np.float32)
    b = rng.standard_normal((40, 35)).astype(np.float32)
    c0 = np.full((29, 35), np.nan, np.float32)  # must be ignored, not added
    got = run(a, b, c0)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


def test_gemm_is_bit_identical_for_1_and_2_threads():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((1000, 300)).astype(np.float32)   # several tasks and KC blocks
    b = rng.standard_normal((300, 700)).astype(np.float32)
    c0 = rng.standard_normal((1000, 700)).astype(np.float32)
    x = rng.standard_normal((3000, 32)).astype(np.float32)     # dW of a narrow layer: one
    dy = rng.standard_normal((3000, 48)).astype(np.float32)    # tile of C, split-k
    before = seqattn.get_num_threads()
    try:
        out = {}
        for t in (1, 2):
            seqattn.set_num_threads(t)
            out[t] = (run(a, b, c0, accumulate=True),
                      run(a.T.copy(), b, c0, ta=True, accumulate=True),
                      run(x, dy, c0[:32, :48], ta=True, accumulate=True),
                      run(x.T.copy(), dy, c0[:32, :48], bias=c0[0, :48], relu=True))
    finally:
        seqattn.set_num_threads(before)
    for x1, x2 in zip(out[1], out[2]):
        assert np.array_equal(x1, x2)


def test_gemm_rejects_a_c_it_cannot_write():
    a = np.ones((2, 3), np.float32)
    b = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="writable C-contiguous float32"):
        _core._gemm(a, b, np.zeros((2, 4), np.float64), False, None, False, False, False)
    with pytest.raises(ValueError, match="do not chain"):
        _core._gemm(a, b, np.zeros((2, 5), np.float32), False, None, False, False, False)


def test_build_info_names_the_gemm_kernel():
    assert seqattn.build_info()["gemm_kernel"].split()[0] in ("AVX-512", "AVX2", "SSE2")
