"""Property cases for tests/test_properties.py (issue 13), run in a child process.

    python tests/property_cases.py FAMILY [PROPERTY ...]

Every property is a `hypothesis` search (fixed seed: derandomize=True, no example database).
Each example is a small Python program: it is printed (flushed) before it runs and is then
executed, so the printed text is a complete reproducer. A case that kills the interpreter
(a signal) leaves its program as the last one printed; the parent test reports it.

Output protocol (stdout), read by tests/test_properties.py:
    @@PROP <name>                       a property starts
    @@CASE <name> / <program> / @@RUN   the next example, before it runs
    @@PASS <name> <seconds>             no counterexample
    @@FAIL <name> <json text>           counterexample(s), shrunk, with their programs

The contract the properties encode (the lead's, issue 13):
  * bad input -> ValueError or TypeError naming the layer (its `name`) or the argument;
    never another exception type, never a crash, never silent garbage;
  * token ids: integer arrays of any width with values in [0, V); whole finite floats are
    cast (same output as the int array); NaN/inf/non-whole floats, bool, str, object,
    complex and out-of-range ids (also int64 values that would wrap in int32) are refused,
    eagerly and in a model (also one whose Input has Keras's default float32 dtype);
  * float-feature layers take any real dtype and compute in float32 (same output as the
    input cast to float32); NaN/inf propagate; wrong rank/shape -> ValueError naming the
    layer and the received shape; empty batch -> empty result or ValueError;
  * huge sizes are refused with a ValueError naming the argument before any allocation;
  * set_weights refuses object/str/complex arrays, wrong shapes/counts and non-finite values;
  * losses: bad dtypes/shapes/values are refused, valid input gives a finite float;
  * model methods either work correctly or raise ValueError/TypeError;
  * invariants against independent oracles (tests/reference.py, float64 NumPy).

Where the contract (or Keras) leaves a choice, either answer is accepted, and a working
answer must then be correct: NaN in a key/value step a row may not attend (Keras/PyTorch
give NaN, "masked steps do not matter" gives a finite row); a key_mask without a key
(Keras honours it; refusing is fine, ignoring is not); mask values other than 0/1 (Keras
reads nonzero as True); NumPy integer sizes (Keras refuses them); Dense/LayerNormalization
on rank >= 4 (Keras accepts); probabilities outside [0, 1] (Keras clips); an empty batch for a
loss (0.0); inf predictions in a loss; batch_size=2**64 or a NumPy integer.
"""

from __future__ import annotations

import json
import math
import os
import re
import resource
import signal
import sys
import tempfile
import time
import traceback

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import reference as R  # noqa: E402  (the float64 NumPy oracle)

# ----------------------------------------------------------------------------- settings

#: Examples per property are scaled by this factor (SEQATTN_PROPERTY_SCALE=4 for a deeper
#: run before a release; the default keeps the whole file near a minute on 2 cores).
SCALE = float(os.environ.get("SEQATTN_PROPERTY_SCALE", "1"))
CASE_TIMEOUT_S = 20  # one example running longer than this is reported as a hang
MEMORY_LIMIT = 4 << 30  # address space of the child: runaway allocations fail, not swap
SHRINK_SECONDS = 4  # per property; hypothesis's default (300 s) would blow the budget

#: Parameters at or above this many float32 elements (256 GiB) must be refused up front.
HUGE_ELEMENTS = 2**36

INT_DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
FLOAT_DTYPES = ["float16", "float32", "float64", "longdouble"]
REAL_DTYPES = ["bool"] + INT_DTYPES + FLOAT_DTYPES
ACTIVATIONS = ["linear", "relu", "gelu", "tanh", "sigmoid", "softmax"]

PRELUDE = ("import numpy as np\nimport seqattn\nfrom seqattn import layers\n"
           "from numpy import nan, inf\n")

PROPERTIES: dict[str, tuple[str, object]] = {}  # name -> (family, hypothesis test)
_STATE = {"prop": None}


def prop(family, examples=180, name=None):
    """Registers a hypothesis property under a family with the suite's settings."""
    def deco(fn):
        nonlocal name
        name = name or fn.__name__
        wrapped = settings(
            max_examples=max(1, int(examples * SCALE)), deadline=None, derandomize=True,
            database=None, suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
            phases=(Phase.explicit, Phase.generate, Phase.shrink), print_blob=False,
            report_multiple_bugs=True)(fn)
        if name in PROPERTIES:
            raise RuntimeError(f"duplicate property {name}")
        PROPERTIES[name] = (family, wrapped)
        return wrapped
    return deco


def family_properties(family):
    return [name for name, (fam, _) in PROPERTIES.items() if fam == family]


# ------------------------------------------------------------------- contract violations


class ContractViolation(AssertionError):
    """Base class: the message holds the problem and the reproducer. Subclasses keep
    hypothesis's distinct-bug reporting apart (it groups failures by exception type)."""


class Crashy(ContractViolation):
    """An exception type outside the contract (IndexError, RuntimeError, MemoryError, ...)."""


class Silent(ContractViolation):
    """Bad input was accepted (no error), or a result is silently wrong."""


class Unnamed(ContractViolation):
    """The ValueError/TypeError does not name the layer or the argument."""


class WrongType(ContractViolation):
    """ValueError where TypeError is required, or the other way round."""


class Refused(ContractViolation):
    """Valid input was refused or raised."""


class WrongValue(ContractViolation):
    """A valid call returned wrong numbers (against the oracle) or a wrong shape."""


class Propagation(ContractViolation):
    """NaN/inf did not propagate (or appeared where it must not)."""


class Costly(ContractViolation):
    """A refusal took too long or allocated memory first."""


# ----------------------------------------------------------------------------- cases


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Outcome:
    """What one example did: its namespace, the exception of its `act` part (or None),
    the program text, and the time/RSS the act took."""

    def __init__(self, code, ns, exc, seconds, rss_growth):
        self.code, self.ns, self.exc = code, ns, exc
        self.seconds, self.rss_growth = seconds, rss_growth

    def __getitem__(self, key):
        return self.ns[key]

    # -- failures carry the reproducer
    def fail(self, cls, problem):
        raise cls(f"{problem}\n--- reproducer ---\n{PRELUDE}{self.code}")

    def describe_exc(self):
        e = self.exc
        return f"{type(e).__name__}: {e}" if e is not None else "no exception"

    # -- the three expectations
    def ok(self):
        """The act part must run without an exception."""
        if self.exc is not None:
            cls = Refused if isinstance(self.exc, (ValueError, TypeError)) else Crashy
            self.fail(cls, f"valid input raised {self.describe_exc()}")
        return self

    def refused(self, names, types=(ValueError, TypeError), shapes=(), got=None):
        """The act part must raise one of `types` whose message contains one of `names`
        (and, when given, one of `shapes` as text)."""
        e = self.exc
        if e is None:
            value = self.ns.get(got or "out", "<no result>")
            self.fail(Silent, f"bad input was accepted: it returned {summarize(value)}")
        if not isinstance(e, (ValueError, TypeError)):
            self.fail(Crashy, f"raised {self.describe_exc()} (only ValueError/TypeError are "
                              "allowed)")
        if not isinstance(e, types):
            self.fail(WrongType, f"raised {self.describe_exc()}; expected "
                                 + "/".join(t.__name__ for t in types))
        msg = str(e)
        if names and not any((n.search(msg) if hasattr(n, "search") else n in msg)
                             for n in names):
            self.fail(Unnamed, f"the message names none of {list(names)}: "
                               f"{type(e).__name__}: {msg}")
        if shapes and not any(s in msg for s in shapes):
            self.fail(Unnamed, f"the message does not show the received shape "
                               f"({' or '.join(shapes)}): {type(e).__name__}: {msg}")
        return self

    def ok_or_refused(self, names, types=(ValueError, TypeError)):
        """Either it works (the caller then checks the result) or it is refused properly.
        Returns True when it worked."""
        if self.exc is None:
            return True
        self.refused(names, types)
        return False


def run_case(setup, act="", *, seed=0, measure=False):
    """Prints the example's program, then runs `setup` (must succeed) and `act` (its
    exception, if any, is recorded for the property to judge)."""
    code = f"seqattn.utils.set_random_seed({seed})\n{setup.strip()}\n"
    if act.strip():
        code += act.strip() + "\n"
    print(f"@@CASE {_STATE['prop']}\n{code}@@RUN", flush=True)
    ns = {"__name__": "__case__"}
    exec(PRELUDE, ns)
    signal.alarm(CASE_TIMEOUT_S)
    try:
        exec(compile(f"seqattn.utils.set_random_seed({seed})\n{setup.strip()}\n",
                     "<case setup>", "exec"), ns)
        exc, seconds, growth = None, 0.0, 0
        if act.strip():
            rss0 = _rss_bytes() if measure else 0
            t0 = time.perf_counter()
            try:
                exec(compile(act.strip() + "\n", "<case>", "exec"), ns)
            except Exception as e:  # judged by the property
                exc = e
            seconds = time.perf_counter() - t0
            growth = (_rss_bytes() - rss0) if measure else 0
    except ContractViolation:
        raise
    except Exception as e:
        raise SetupError(f"the case's setup raised {type(e).__name__}: {e}\n--- program ---\n"
                         f"{PRELUDE}{code}") from e
    finally:
        signal.alarm(0)
    return Outcome(code, ns, exc, seconds, growth)


class SetupError(ContractViolation):
    """The valid part of a case (building a layer/model on valid input) raised."""


def summarize(value):
    if isinstance(value, np.ndarray):
        body = np.array2string(value, threshold=12, edgeitems=2, precision=4)
        return f"array shape={value.shape} dtype={value.dtype} {body}"
    if isinstance(value, (list, tuple)):
        return type(value).__name__ + "[" + ", ".join(summarize(v) for v in value[:4]) + "]"
    text = repr(value)
    return text if len(text) < 300 else text[:300] + "..."


# ----------------------------------------------------------------- numeric comparisons


def check_equal(o, actual, expected, what):
    """Bit-exact equality (NaN equal to NaN), same shape."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        o.fail(WrongValue, f"{what}: shape {actual.shape}, expected {expected.shape}")
    if actual.dtype != np.float32:
        o.fail(WrongValue, f"{what}: dtype {actual.dtype}, expected float32")
    a = actual.astype(np.float64)
    b = expected.astype(np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    if not same.all():
        i = tuple(int(p) for p in np.argwhere(~same)[0])
        o.fail(WrongValue, f"{what}: differs at {i}: {a[i]!r} != {b[i]!r} "
                           f"({int((~same).sum())} of {same.size} elements differ)")


def check_close(o, actual, expected, what, rtol=2e-4, atol=2e-5):
    """float32 result against a float64 oracle: finite, same shape, within a tolerance
    scaled by the oracle's magnitude (as tests/conftest.py's assert_close)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        o.fail(WrongValue, f"{what}: shape {actual.shape}, expected {expected.shape}")
    a = actual.astype(np.float64)
    if not np.isfinite(a).all():
        i = tuple(int(p) for p in np.argwhere(~np.isfinite(a))[0])
        o.fail(Propagation if np.isfinite(expected).all() else WrongValue,
               f"{what}: non-finite value {a[i]!r} at {i} where the oracle gives "
               f"{expected[i]!r}")
    if a.size == 0:
        return
    scale = max(1.0, float(np.abs(expected).max()))
    err = np.abs(a - expected)
    if float(err.max()) > (atol + rtol) * scale:
        i = tuple(int(p) for p in np.argwhere(err == err.max())[0])
        o.fail(WrongValue, f"{what}: max abs diff {float(err.max()):.3e} at {i} "
                           f"(got {a[i]!r}, oracle {expected[i]!r}, scale {scale:.3g})")


def check_nonfinite_pattern(o, actual, expected, what, strict_nan=False):
    """NaN/inf propagation against a float64 oracle evaluated on the same non-finite input:
    where the oracle is non-finite the result must be non-finite (NaN where the oracle is NaN,
    with strict_nan); where the oracle is finite the result must be finite and close."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        o.fail(WrongValue, f"{what}: shape {actual.shape}, expected {expected.shape}")
    bad_ref = ~np.isfinite(expected)
    missing = bad_ref & np.isfinite(actual)
    if missing.any():
        i = tuple(int(p) for p in np.argwhere(missing)[0])
        o.fail(Propagation, f"{what}: NaN/inf in the input did not propagate: element {i} "
                            f"is {actual[i]!r}, the oracle gives {expected[i]!r} "
                            f"({int(missing.sum())} such elements)")
    if strict_nan:
        miss = np.isnan(expected) & ~np.isnan(actual)
        if miss.any():
            i = tuple(int(p) for p in np.argwhere(miss)[0])
            o.fail(Propagation, f"{what}: element {i} is {actual[i]!r}, the oracle gives nan")
    extra = ~bad_ref & ~np.isfinite(actual)
    if extra.any():
        i = tuple(int(p) for p in np.argwhere(extra)[0])
        o.fail(Propagation, f"{what}: element {i} is {actual[i]!r} although it does not "
                            f"depend on a NaN/inf input (oracle {expected[i]!r})")
    if (~bad_ref).any():
        check_close(o, np.where(bad_ref, 0.0, actual), np.where(bad_ref, 0.0, expected), what)


# ------------------------------------------------------------------ program fragments


def shape_text(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def shape_variants(shape):
    """How a message may show a received shape: (2, 3) or (None, 3) or [2, 3]."""
    shape = tuple(shape)
    out = {shape_text(shape), str(list(shape))}
    if not shape:
        out.add("scalar")
    if shape:
        out.add(shape_text((None,) + shape[1:]))
    return sorted(out)


def array_code(var, shape, dtype, seed, low=-3.0, high=3.0):
    """A line creating a random array of a real dtype from a seeded generator."""
    g = f"np.random.default_rng({seed})"
    shape = shape_text(shape)
    if dtype == "bool":
        return f"{var} = {g}.integers(0, 2, {shape}).astype(bool)"
    if dtype in INT_DTYPES:
        info = np.iinfo(dtype)
        lo, hi = max(int(info.min), int(math.floor(low))), min(int(info.max), int(math.ceil(high)))
        return f"{var} = {g}.integers({lo}, {hi + 1}, {shape}).astype('{dtype}')"
    return f"{var} = {g}.uniform({low!r}, {high!r}, {shape}).astype('{dtype}')"


LAYOUTS = ["C", "F", "strided", "reversed", "list"]


def layout_code(var, layout):
    """A line that gives the same values in another memory layout (or as nested lists)."""
    return {
        "C": "",
        "F": f"{var} = np.asfortranarray({var})",
        "strided": f"{var} = np.repeat({var}, 2, axis=-1)[..., ::2]",
        "reversed": f"{var} = np.ascontiguousarray({var}[::-1])[::-1]",
        "list": f"{var} = {var}.tolist()",
    }[layout]


def lines(*parts):
    return "\n".join(p for p in parts if p)


def extreme_fill(var, dtype, seed):
    """Extreme but valid values of an integer dtype in a few cells."""
    info = np.iinfo(dtype)
    return (f"{var}.flat[np.random.default_rng({seed}).integers(0, {var}.size, 2)] = "
            f"np.array([{int(info.min)}, {int(info.max)}], dtype='{dtype}')")


def index_tuples(shape, n, rng_seed):
    """n random valid indices (as tuples) into an array of `shape` (deterministic)."""
    rng = np.random.default_rng(rng_seed)
    return [tuple(int(rng.integers(0, d)) for d in shape) for _ in range(n)]


# ============================================================================ family: ids

ID_NAME = "probe_emb"
MODEL_NAME = "probe_model"


@st.composite
def id_specs(draw, allow_empty=False):
    kind = draw(st.sampled_from(["Embedding", "TokenAndPositionEmbedding"]))
    V = draw(st.integers(1, 40))
    C = draw(st.integers(1, 5))
    mz = draw(st.booleans())
    B = draw(st.integers(0 if allow_empty else 1, 4))
    T = draw(st.integers(1, 6))
    if kind == "Embedding":
        code = f"layers.Embedding({V}, {C}, mask_zero={mz}, name='{ID_NAME}')"
    else:
        Tmax = T + draw(st.integers(0, 3))
        code = (f"layers.TokenAndPositionEmbedding({V}, {Tmax}, {C}, mask_zero={mz}, "
                f"name='{ID_NAME}')")
    return dict(kind=kind, V=V, C=C, B=B, T=T, code=code, seed=draw(st.integers(0, 999)))


def id_oracle(layer, ids):
    """W_tok[ids] (+ W_pos[:T]) in float32, as the layer must compute it."""
    W = layer.get_weights()
    ids = np.asarray(ids).astype(np.int64)
    out = W[0][ids]
    if len(W) == 2:
        out = out + W[1][: ids.shape[1]]
    return out


def ids_code(spec, dtype="int64", var="ids"):
    """Valid ids in [0, V) drawn as integers, then given `dtype` (whole floats for floats)."""
    return (f"{var} = np.random.default_rng({spec['seed']}).integers(0, {spec['V']}, "
            f"{shape_text((spec['B'], spec['T']))}).astype('{dtype}')")


@prop("ids", examples=180)
@given(spec=id_specs(allow_empty=True), dtype=st.sampled_from(INT_DTYPES),
       layout=st.sampled_from(LAYOUTS))
def ids_int_dtypes_eager(spec, dtype, layout):
    """Integer ids of any width and layout give W[ids] exactly (eager call)."""
    o = run_case(lines(f"layer = {spec['code']}", ids_code(spec, dtype),
                       layout_code("ids", layout)), "out = layer(ids)")
    if spec["B"] == 0:
        if o.ok_or_refused([ID_NAME]):
            check_equal(o, o["out"], np.zeros((0, spec["T"], spec["C"]), np.float32), "output")
        return
    o.ok()
    check_equal(o, o["out"], id_oracle(o["layer"], o["ids"]), "embedding output")


@prop("ids", examples=120)
@given(spec=id_specs(), dtype=st.sampled_from(FLOAT_DTYPES), layout=st.sampled_from(LAYOUTS))
def ids_whole_floats_eager(spec, dtype, layout):
    """Whole finite floats in range are cast to ids: the same output as the int array."""
    o = run_case(lines(f"layer = {spec['code']}", ids_code(spec, "int64"),
                       f"idsf = ids.astype('{dtype}')", layout_code("idsf", layout)),
                 "out = layer(idsf)\nexpected = layer(ids)")
    o.ok()
    check_equal(o, o["out"], o["expected"], "output for float ids vs int ids")
    check_equal(o, o["expected"], id_oracle(o["layer"], o["ids"]), "embedding output")


#: Bad token ids: (dtype choices, line that spoils `ids`) — {i} is a cell, {V} the vocabulary.
BAD_IDS = {
    "nan": (["float16", "float32", "float64"], "ids[{i}] = nan"),
    "inf": (["float32", "float64"], "ids[{i}] = inf"),
    "minus_inf": (["float32", "float64"], "ids[{i}] = -inf"),
    "non_whole": (["float16", "float32", "float64", "longdouble"], "ids[{i}] = {k} + 0.5"),
    "negative": (["int8", "int16", "int32", "int64", "float32", "float64"], "ids[{i}] = -{k1}"),
    "too_large": (["int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                   "float32", "float64"], "ids[{i}] = {V} + {k}"),
    "wraps_in_int32": (["int64"], "ids[{i}] = 2**32 + {k}"),
    "wraps_negative": (["int64"], "ids[{i}] = -2**32 + {k}"),
    "uint64_max": (["uint64"], "ids[{i}] = 2**64 - 1"),
    "uint32_high": (["uint32"], "ids[{i}] = 2**31 + {k}"),
    "int64_min": (["int64"], "ids[{i}] = -2**63"),
    "float_beyond_int32": (["float64"], "ids[{i}] = 2.0**32 + {k}"),
    "float_huge": (["float32", "float64"], "ids[{i}] = 1e30"),
    "bool": (["int64"], "ids = ids.astype(bool)"),
    "str": (["int64"], "ids = ids.astype(str)"),
    "bytes": (["int64"], "ids = ids.astype('S')"),
    "object": (["int64"], "ids = ids.astype(object)"),
    "complex": (["int64"], "ids = ids.astype(complex)"),
    "timedelta": (["int64"], "ids = ids.astype('m8[s]')"),
    "list_of_str": (["int64"], "ids = ids.astype(str).tolist()"),
    "none": (["int64"], "ids = None"),
}


@st.composite
def bad_id_cases(draw, kind):
    spec = draw(id_specs())
    dtypes, spoil = BAD_IDS[kind]
    dtype = draw(st.sampled_from(dtypes))
    i = draw(st.sampled_from(index_tuples((spec["B"], spec["T"]), 4, spec["seed"])))
    k = draw(st.integers(0, spec["V"] - 1))
    spoil = spoil.format(i=shape_text(i), V=spec["V"], k=k, k1=k + 1)
    return spec, dtype, spoil


def _bad_ids_eager(kind):
    @prop("ids", examples=36, name=f"ids_bad_eager_{kind}")
    @given(case=bad_id_cases(kind))
    def test(case):
        spec, dtype, spoil = case
        o = run_case(lines(f"layer = {spec['code']}", ids_code(spec, dtype), spoil),
                     "out = layer(ids)")
        o.refused([ID_NAME])
    return test


def model_with_ids(spec, input_dtype):
    dt = "" if input_dtype == "float32" else f", dtype='{input_dtype}'"
    return lines(f"inp = seqattn.Input(shape=({spec['T']},){dt})",
                 f"model = seqattn.Model(inp, {spec['code']}(inp), name='{MODEL_NAME}')",
                 f"layer = model.get_layer('{ID_NAME}')")


MODEL_CALLS = ["model.predict(ids, verbose=0)", "model(ids)", "model.predict_on_batch(ids)"]


@prop("ids", examples=180)
@given(spec=id_specs(), input_dtype=st.sampled_from(["float32", "int32"]),
       dtype=st.sampled_from(INT_DTYPES + ["float16", "float32", "float64"]),
       call=st.sampled_from(MODEL_CALLS))
def ids_model_valid(spec, input_dtype, dtype, call):
    """In a model (Input of Keras's default float32 dtype, or int32) ids of any integer
    dtype, or whole floats, give exactly the eager output W[ids]."""
    o = run_case(lines(model_with_ids(spec, input_dtype), ids_code(spec, dtype)),
                 f"out = {call}")
    o.ok()
    check_equal(o, o["out"], id_oracle(o["layer"], np.asarray(o["ids"]).astype(np.int64)),
                "model output")


def _bad_ids_model(kind):
    @prop("ids", examples=36, name=f"ids_bad_model_{kind}")
    @given(case=bad_id_cases(kind), input_dtype=st.sampled_from(["float32", "int32"]),
           call=st.sampled_from(MODEL_CALLS))
    def test(case, input_dtype, call):
        spec, dtype, spoil = case
        o = run_case(lines(model_with_ids(spec, input_dtype), ids_code(spec, dtype), spoil),
                     f"out = {call}")
        o.refused([ID_NAME, MODEL_NAME, "`x`"])
    return test


for _kind in BAD_IDS:
    _bad_ids_eager(_kind)
    _bad_ids_model(_kind)


# ======================================================================= family: features
# Float-feature layers called eagerly on arrays.

LAYER_NAME = "probe_layer"

#: kind -> ranks the layer accepts (ranks of the whole input, batch axis included).
FEATURE_RANKS = {
    "Dense": (2, 3), "LayerNormalization": (2, 3), "Dropout": (1, 2, 3, 4), "Add": (1, 2, 3, 4),
    "GlobalAveragePooling1D": (3,), "GlobalMaxPooling1D": (3,), "PositionEmbedding": (3,),
    "SinePositionEncoding": (3,), "Activation": (2, 3, 4), "Flatten": (2, 3, 4),
    "MultiHeadAttention": (3,),
    "Conv1D": (3,), "MaxPooling1D": (3,), "AveragePooling1D": (3,),
    # merge and shape layers (Concatenate on axis -1; Reshape((-1,)); Permute((2, 1)))
    "Multiply": (1, 2, 3, 4), "Maximum": (1, 2, 3, 4), "Concatenate": (2, 3, 4),
    "Reshape": (1, 2, 3, 4), "Permute": (3,), "RepeatVector": (2,),
}
#: kind -> smallest rank accepted, for layers that take any rank from there on.
OPEN_RANKS = {"Dropout": 1, "Add": 1, "Activation": 2, "Flatten": 2,
              "Multiply": 1, "Maximum": 1, "Concatenate": 2, "Reshape": 1}
#: kinds called on a list of inputs
LIST_KINDS = ("Add", "Multiply", "Maximum", "Concatenate")


#: Ranks Keras also accepts beyond seqattn's documented ones (Dense and LayerNormalization
#: work on the last axis of any rank >= 2): either refused or computed correctly.
KERAS_EXTRA_RANKS = {"Dense": 2, "LayerNormalization": 2}


def rank_allowed(kind, rank):
    return rank >= OPEN_RANKS[kind] if kind in OPEN_RANKS else rank in FEATURE_RANKS[kind]


#: Value ranges where float32 is accurate enough for a float64 oracle at 2e-4.
ORACLE_RANGES = {"MultiHeadAttention": (1.0, 3.0), "LayerNormalization": (1.0, 100.0)}


@st.composite
def feature_specs(draw, kinds=tuple(FEATURE_RANKS), rank=None, allow_empty=False):
    kind = draw(st.sampled_from(kinds))
    rank = draw(st.sampled_from(FEATURE_RANKS[kind])) if rank is None else rank
    B = draw(st.integers(0 if allow_empty else 1, 3))
    dims = [draw(st.integers(1, 5)) for _ in range(rank - 1)]
    shape = (B, *dims)
    p = {}
    n_inputs = 1
    if kind == "Dense":
        p["units"] = draw(st.integers(1, 5))
        p["activation"] = draw(st.sampled_from(ACTIVATIONS))
        p["use_bias"] = draw(st.booleans())
        code = (f"layers.Dense({p['units']}, activation={p['activation']!r}, "
                f"use_bias={p['use_bias']}, name='{LAYER_NAME}')")
    elif kind == "LayerNormalization":
        p["epsilon"] = draw(st.sampled_from([1e-3, 1e-5, 0.5]))
        p["center"], p["scale"] = draw(st.booleans()), draw(st.booleans())
        code = (f"layers.LayerNormalization(epsilon={p['epsilon']!r}, center={p['center']}, "
                f"scale={p['scale']}, name='{LAYER_NAME}')")
    elif kind == "Dropout":
        rate = draw(st.sampled_from([0.0, 0.25, 0.9]))
        code = f"layers.Dropout({rate}, name='{LAYER_NAME}')"
    elif kind == "Add":
        n_inputs = draw(st.integers(2, 3))
        code = f"layers.Add(name='{LAYER_NAME}')"
    elif kind in ("GlobalAveragePooling1D", "GlobalMaxPooling1D", "Flatten"):
        code = f"layers.{kind}(name='{LAYER_NAME}')"
    elif kind in ("Multiply", "Maximum", "Concatenate"):
        n_inputs = draw(st.integers(2, 3))
        code = f"layers.{kind}(name='{LAYER_NAME}')"
    elif kind in ("Reshape", "Permute", "RepeatVector"):
        arg = {"Reshape": "(-1,)", "Permute": "(2, 1)", "RepeatVector": "2"}[kind]
        code = f"layers.{kind}({arg}, name='{LAYER_NAME}')"
    elif kind == "PositionEmbedding":
        p["sequence_length"] = shape[1] + draw(st.integers(0, 3))
        code = f"layers.PositionEmbedding({p['sequence_length']}, name='{LAYER_NAME}')"
    elif kind == "SinePositionEncoding":
        p["max_wavelength"] = draw(st.sampled_from([10000, 10.0, 1.5]))
        code = (f"layers.SinePositionEncoding(max_wavelength={p['max_wavelength']!r}, "
                f"name='{LAYER_NAME}')")
    elif kind == "Activation":
        p["activation"] = draw(st.sampled_from(ACTIVATIONS))
        code = f"layers.Activation({p['activation']!r}, name='{LAYER_NAME}')"
    elif kind == "Conv1D":
        p["padding"] = draw(st.sampled_from(["valid", "same", "causal"]))
        p["strides"] = draw(st.integers(1, 3))
        p["dilation_rate"] = 1 if p["strides"] > 1 else draw(st.integers(1, 2))
        longest = shape[1] if p["padding"] == "valid" else 4  # "valid" needs span <= T
        p["kernel_size"] = draw(st.integers(1, max(1, (longest - 1) // p["dilation_rate"] + 1)))
        p["filters"] = draw(st.integers(1, 4))
        p["activation"] = draw(st.sampled_from(ACTIVATIONS))
        p["use_bias"] = draw(st.booleans())
        code = (f"layers.Conv1D({p['filters']}, {p['kernel_size']}, strides={p['strides']}, "
                f"padding={p['padding']!r}, dilation_rate={p['dilation_rate']}, "
                f"activation={p['activation']!r}, use_bias={p['use_bias']}, name='{LAYER_NAME}')")
    elif kind in ("MaxPooling1D", "AveragePooling1D"):
        p["padding"] = draw(st.sampled_from(["valid", "same"]))
        longest = shape[1] if p["padding"] == "valid" else 4
        p["pool_size"] = draw(st.integers(1, longest))
        p["strides"] = draw(st.sampled_from([None, 1, 2, 3]))
        code = (f"layers.{kind}({p['pool_size']}, strides={p['strides']}, "
                f"padding={p['padding']!r}, name='{LAYER_NAME}')")
    else:  # MultiHeadAttention (self-attention on the query)
        p["num_heads"] = draw(st.integers(1, 3))
        p["key_dim"] = draw(st.integers(1, 4))
        p["value_dim"] = draw(st.sampled_from([None, 1, 3]))
        p["output_shape"] = draw(st.sampled_from([None, 1, 4]))
        p["use_bias"] = draw(st.booleans())
        code = (f"layers.MultiHeadAttention({p['num_heads']}, {p['key_dim']}, "
                f"value_dim={p['value_dim']}, output_shape={p['output_shape']}, "
                f"use_bias={p['use_bias']}, name='{LAYER_NAME}')")
    return dict(kind=kind, shape=shape, p=p, n_inputs=n_inputs, code=code,
                seed=draw(st.integers(0, 999)))


def per_kind(what, examples, **strategies):
    """Registers one property per feature layer kind (so a failure of one layer does not
    hide another's): features_<what>[<kind>]."""
    def register(fn):
        for kind in FEATURE_RANKS:
            prop("features", examples, name=f"features_{what}[{kind}]")(
                given(spec=feature_specs(kinds=(kind,)), **strategies)(fn))
        return fn
    return register


def feature_inputs_code(spec, dtype="float32", low=-3.0, high=3.0, shape=None):
    shape = spec["shape"] if shape is None else shape
    return "\n".join(array_code(f"x{i}", shape, dtype, spec["seed"] + i, low, high)
                     for i in range(spec["n_inputs"]))


def feature_call(spec, var="x"):
    names = [f"{var}{i}" for i in range(spec["n_inputs"])]
    return f"layer([{', '.join(names)}])" if spec["kind"] in LIST_KINDS else f"layer({names[0]})"


def feature_reference(spec, layer, xs):
    """The float64 oracle (tests/reference.py) for a feature layer with its weights."""
    kind, p = spec["kind"], spec["p"]
    xs = [np.asarray(x, np.float64) for x in xs]
    x = xs[0]
    W = layer.get_weights()
    if kind == "Dense":
        return R.dense_forward(x, W[0], W[1] if p["use_bias"] else None, p["activation"])
    if kind == "LayerNormalization":
        gamma = W.pop(0) if p["scale"] else None
        beta = W.pop(0) if p["center"] else None
        return R.layer_norm_forward(x, gamma, beta, p["epsilon"])
    if kind == "Dropout":
        return x
    if kind == "Add":
        return R.add_forward(xs)
    if kind == "GlobalAveragePooling1D":
        return R.global_average_pooling_forward(x)
    if kind == "GlobalMaxPooling1D":
        return R.global_max_pooling_forward(x)
    if kind == "PositionEmbedding":
        return R.position_embedding_forward(x, W[0])
    if kind == "SinePositionEncoding":
        return R.sine_position_encoding(x, p["max_wavelength"])
    if kind == "Activation":
        return R.activation_forward(x, p["activation"])
    if kind == "Flatten":
        return x.reshape(x.shape[0], -1)
    if kind == "Conv1D":
        return R.conv1d_forward(x, W[0], W[1] if p["use_bias"] else None, p["strides"],
                                p["padding"], p["dilation_rate"], p["activation"])
    if kind in ("MaxPooling1D", "AveragePooling1D"):
        return R.pool1d_forward(x, "max" if kind == "MaxPooling1D" else "average",
                                p["pool_size"], p["strides"], p["padding"])
    if kind in ("Multiply", "Maximum"):
        return R.merge_forward(kind.lower(), xs)
    if kind == "Concatenate":
        return R.concatenate_forward(xs, -1)
    if kind == "Reshape":
        return R.reshape_forward(x, (-1,))
    if kind == "Permute":
        return R.permute_forward(x, (2, 1))
    if kind == "RepeatVector":
        return R.repeat_vector_forward(x, 2)
    return R.mha_forward(x, x, None, W, p["num_heads"])[0]


def expected_shape(o, spec, shapes):
    """compute_output_shape for the given input shapes, batch axis filled in."""
    cos = o["layer"].compute_output_shape([(None,) + tuple(s[1:]) for s in shapes])
    return (shapes[0][0],) + tuple(cos[1:])


@per_kind("match_oracle", 75, data=st.data())
def features_match_oracle(spec, data):
    """Finite float32 input: the float64 oracle (tests/reference.py) within 2e-4, and the
    shape compute_output_shape announces."""
    low, high = data.draw(st.sampled_from(
        [(-1.0, 1.0), (-3.0, 3.0), (-100.0, 100.0), (-1e4, 1e4)]), label="range")
    cap = ORACLE_RANGES.get(spec["kind"], (1e4, 1e4))[1]
    low, high = max(low, -cap), min(high, cap)
    o = run_case(lines(f"layer = {spec['code']}", feature_inputs_code(spec, "float32", low, high)),
                 f"out = {feature_call(spec)}")
    o.ok()
    xs = [o[f"x{i}"] for i in range(spec["n_inputs"])]
    out = o["out"]
    if not isinstance(out, np.ndarray) or out.dtype != np.float32:
        o.fail(WrongValue, f"the output is {summarize(out)}, not a float32 array")
    want = expected_shape(o, spec, [x.shape for x in xs])
    if out.shape != want:
        o.fail(WrongValue, f"output shape {out.shape} but compute_output_shape says {want}")
    check_close(o, out, feature_reference(spec, o["layer"], xs), "output")


@st.composite
def any_real_input(draw):
    """A real dtype; for integer dtypes, maybe with the dtype's extreme values in a few cells."""
    dtype = draw(st.sampled_from(REAL_DTYPES))
    extreme = dtype in INT_DTYPES and draw(st.booleans())
    return dtype, extreme


@per_kind("any_real_dtype", 75, data=st.data(), layout=st.sampled_from(LAYOUTS))
def features_any_real_dtype(spec, data, layout):
    """bool/int/uint/float16/32/64/longdouble input in any memory layout (or nested lists)
    computes exactly as the same values cast to float32."""
    dtype, extreme = data.draw(any_real_input(), label="dtype")
    low, high = ((-20, 20) if dtype in INT_DTYPES else (-3.0, 3.0))
    setup = [f"layer = {spec['code']}", feature_inputs_code(spec, dtype, low, high)]
    if extreme:
        setup += [extreme_fill(f"x{i}", dtype, spec["seed"]) for i in range(spec["n_inputs"])]
    setup += ["\n".join(f"f{i} = x{i}.astype('float32')" for i in range(spec["n_inputs"]))]
    setup += [layout_code(f"x{i}", layout) for i in range(spec["n_inputs"])]
    o = run_case(lines(*setup), f"out = {feature_call(spec)}\nexpected = {feature_call(spec, 'f')}")
    o.ok()
    check_equal(o, o["out"], o["expected"], f"output for {dtype} input vs float32 input")


NONFINITE = {"nan": "nan", "inf": "inf", "minus_inf": "-inf"}


@per_kind("nonfinite_propagates", 90, data=st.data(),
          which=st.sampled_from(["nan", "nan", "inf", "minus_inf", "mixed"]),
          dtype=st.sampled_from(["float16", "float32", "float64"]))
def features_nonfinite_propagates(spec, data, which, dtype):
    """NaN/inf in the input reach the output as the float64 oracle says (Keras/PyTorch
    semantics): NaN where the oracle is NaN (for NaN input), non-finite where it is
    non-finite, finite elsewhere. Position layers read only the shape: always finite."""
    shape = spec["shape"]
    n = data.draw(st.integers(1, 3), label="cells")
    cells = []
    for i in range(spec["n_inputs"]):
        for idx in data.draw(st.lists(st.sampled_from(index_tuples(shape, 6, spec["seed"] + i)),
                                      min_size=0 if i else 1, max_size=n), label="where"):
            value = (NONFINITE[which] if which != "mixed" else
                     data.draw(st.sampled_from(list(NONFINITE.values())), label="value"))
            cells.append(f"x{i}[{shape_text(idx)}] = {value}")
    o = run_case(lines(f"layer = {spec['code']}", feature_inputs_code(spec, dtype), *cells),
                 f"out = {feature_call(spec)}")
    o.ok()
    xs = [o[f"x{i}"] for i in range(spec["n_inputs"])]
    with np.errstate(all="ignore"):
        expected = feature_reference(spec, o["layer"], xs)
    check_nonfinite_pattern(o, o["out"], expected, "output", strict_nan=which == "nan")


BAD_FEATURE_DTYPES = {
    "str": "x0 = x0.astype(str)",
    "bytes": "x0 = x0.astype('S')",
    "object": "x0 = x0.astype(object)",
    "complex": "x0 = x0.astype(complex)",
    "complex_real_values": "x0 = x0.astype('complex64'); x0.imag = 0",
    "timedelta": "x0 = np.round(x0).astype('m8[s]')",
    "datetime": "x0 = np.round(x0).astype('M8[s]')",
    "list_of_str": "x0 = x0.astype(str).tolist()",
    "void": "x0 = np.zeros(x0.shape, dtype='V4')",
}


@per_kind("bad_dtype_type_error", 45, bad=st.sampled_from(sorted(BAD_FEATURE_DTYPES)),
          built=st.booleans())
def features_bad_dtype_type_error(spec, bad, built):
    """str/bytes/object/complex/datetime/void input -> TypeError naming the layer (before or
    after the layer is built)."""
    setup = [f"layer = {spec['code']}", feature_inputs_code(spec)]
    if built:
        setup.append(f"_ = {feature_call(spec)}")
    setup.append(BAD_FEATURE_DTYPES[bad])
    o = run_case(lines(*setup), f"out = {feature_call(spec)}")
    o.refused([LAYER_NAME], types=(TypeError,))


@per_kind("wrong_rank", 36, data=st.data(), built=st.booleans())
def features_wrong_rank(spec, data, built):
    """An input of a rank the layer does not take -> ValueError naming the layer and the
    received shape (first call, or after building on a valid shape)."""
    rank = data.draw(st.sampled_from([r for r in range(0, 6) if not rank_allowed(spec["kind"], r)]),
                     label="rank")
    bad_shape = tuple(spec["shape"][: min(rank, len(spec["shape"]))]) + (2,) * max(
        0, rank - len(spec["shape"]))
    setup = [f"layer = {spec['code']}"]
    if built:
        setup += [feature_inputs_code(spec), f"_ = {feature_call(spec)}"]
    setup.append(feature_inputs_code(spec, shape=bad_shape).replace("x", "y"))
    o = run_case(lines(*setup), f"out = {feature_call(spec, 'y')}")
    if rank >= KERAS_EXTRA_RANKS.get(spec["kind"], 99) and o.exc is None:
        ys = [o[f"y{i}"] for i in range(spec["n_inputs"])]
        check_close(o, o["out"], feature_reference(spec, o["layer"], ys), "output (Keras semantics)")
        return
    o.refused([LAYER_NAME], types=(ValueError,), shapes=shape_variants(bad_shape))


def _incompatible(spec, new_shape):
    """Whether a built layer must refuse new_shape (same rank): weights fix C (and T for a
    position table)."""
    kind, old = spec["kind"], spec["shape"]
    if kind in ("Dense", "LayerNormalization", "MultiHeadAttention", "PositionEmbedding"):
        if new_shape[-1] != old[-1]:
            return True
    if kind == "PositionEmbedding" and new_shape[1] > spec["p"]["sequence_length"]:
        return True
    if kind == "Conv1D" and (new_shape[-1] != old[-1] or (spec["p"]["padding"] == "valid" and (
            new_shape[1] < spec["p"]["dilation_rate"] * (spec["p"]["kernel_size"] - 1) + 1))):
        return True
    if kind in ("MaxPooling1D", "AveragePooling1D") and spec["p"]["padding"] == "valid":
        return new_shape[1] < spec["p"]["pool_size"]
    return False


@per_kind("second_call_other_shape", 45, data=st.data())
def features_second_call_other_shape(spec, data):
    """A built layer called on another shape of an accepted rank: works (matching the oracle)
    when its weights fit, else ValueError naming the layer and the received shape."""
    rank = data.draw(st.sampled_from(FEATURE_RANKS[spec["kind"]]), label="rank")
    new_shape = (data.draw(st.integers(1, 3), label="B"),) + tuple(
        data.draw(st.integers(1, 6), label="dim") for _ in range(rank - 1))
    setup = lines(f"layer = {spec['code']}", feature_inputs_code(spec), f"_ = {feature_call(spec)}",
                  feature_inputs_code(spec, shape=new_shape, low=-1.0, high=1.0).replace("x", "y"))
    o = run_case(setup, f"out = {feature_call(spec, 'y')}")
    if _incompatible(spec, new_shape):
        o.refused([LAYER_NAME], types=(ValueError,), shapes=shape_variants(new_shape))
        return
    o.ok()
    ys = [o[f"y{i}"] for i in range(spec["n_inputs"])]
    check_close(o, o["out"], feature_reference(spec, o["layer"], ys), "output")


@per_kind("empty_axes", 45, data=st.data())
def features_empty_axes(spec, data):
    """An empty batch (B = 0) gives an empty result of the right shape or a ValueError naming
    the layer; other empty axes (T = 0, C = 0) are refused or give the announced shape. Never
    a crash or another exception."""
    shape = list(spec["shape"])
    which = data.draw(st.sampled_from(range(len(shape))), label="empty axis")
    shape[which] = 0
    setup = lines(f"layer = {spec['code']}", feature_inputs_code(spec, shape=tuple(shape)))
    o = run_case(setup, f"out = {feature_call(spec)}")
    if o.ok_or_refused([LAYER_NAME]):
        out = o["out"]
        if not isinstance(out, np.ndarray) or out.dtype != np.float32:
            o.fail(WrongValue, f"the output is {summarize(out)}, not a float32 array")
        if which == 0:
            if out.shape[0] != 0:
                o.fail(WrongValue, f"an empty batch gave output shape {out.shape}")
            want = expected_shape(o, spec, [tuple(shape)] * spec["n_inputs"])
            if out.shape != want:
                o.fail(WrongValue, f"output shape {out.shape}, compute_output_shape says {want}")


@prop("features", examples=120)
@given(spec=feature_specs(), bad=st.sampled_from(["none", "scalar", "dict", "str"]))
def features_non_array_input(spec, bad):
    """None, a Python scalar, a dict or a string as the input -> ValueError/TypeError naming
    the layer."""
    value = {"none": "None", "scalar": "3.0", "dict": "{'a': 1}", "str": "'abc'"}[bad]
    setup = lines(f"layer = {spec['code']}", feature_inputs_code(spec), f"x0 = {value}")
    o = run_case(setup, f"out = {feature_call(spec)}")
    o.refused([LAYER_NAME])


@prop("features", examples=120)
@given(data=st.data(), bad=st.sampled_from(
    ["shapes_differ", "one_input", "not_a_list", "contains_none", "empty_list", "ranks_differ"]))
def features_add_bad_inputs(data, bad):
    """Add with mismatched shapes, fewer than 2 inputs, a non-list or None inside ->
    ValueError naming the layer."""
    shape = tuple(data.draw(st.integers(1, 4), label="dim") for _ in range(2))
    other = (shape[0], shape[1] + 1)
    call = {"shapes_differ": "layer([x, y])", "one_input": "layer([x])", "not_a_list": "layer(x)",
            "contains_none": "layer([x, None])", "empty_list": "layer([])",
            "ranks_differ": "layer([x, x[..., None]])"}[bad]
    setup = lines(f"layer = layers.Add(name='{LAYER_NAME}')", f"x = np.ones({shape_text(shape)}, "
                  "np.float32)", f"y = np.ones({shape_text(other)}, np.float32)")
    o = run_case(setup, f"out = {call}")
    o.refused([LAYER_NAME], types=(ValueError,))


# ============================================================================ family: mha
# MultiHeadAttention called eagerly with query/value/key, masks and the causal mask.

MHA_NAME = "probe_mha"
MASK_DTYPES = ["bool", "int8", "int32", "int64", "uint8", "float32", "float64"]


@st.composite
def mha_specs(draw, masks=True, key_mask_without_key=False):
    """A MultiHeadAttention, its inputs and masks (as program lines) and the call. A
    key_mask without a key is drawn only with key_mask_without_key (Keras honours it;
    seqattn may refuse it instead; one property checks that alone)."""
    p = dict(H=draw(st.integers(1, 3)), Dk=draw(st.integers(1, 4)),
             Dv=draw(st.sampled_from([None, 1, 3])), out=draw(st.sampled_from([None, 1, 4])),
             use_bias=draw(st.booleans()))
    B, T = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    C = draw(st.integers(1, 5))
    separate_value = draw(st.booleans())
    S, Cv = (draw(st.integers(1, 5)), draw(st.integers(1, 5))) if separate_value else (T, C)
    key_given = draw(st.booleans())
    Ck = draw(st.integers(1, 5)) if key_given else None
    seed = draw(st.integers(0, 999))
    code = [f"layer = layers.MultiHeadAttention({p['H']}, {p['Dk']}, value_dim={p['Dv']}, "
            f"output_shape={p['out']}, use_bias={p['use_bias']}, name='{MHA_NAME}')",
            array_code("q", (B, T, C), "float32", seed)]
    args = ["q"]
    if separate_value:
        code.append(array_code("v", (B, S, Cv), "float32", seed + 1))
        args.append("v")
    if key_given:
        code.append(array_code("k", (B, S, Ck), "float32", seed + 2))
        args.append("key=k")
    mask_arrays = {}
    if masks:
        for name, shape in (("query_mask", (B, T)), ("value_mask", (B, S)),
                            ("key_mask", (B, S)), ("attention_mask", (B, T, S))):
            if name == "key_mask" and not key_given and not key_mask_without_key:
                continue
            if draw(st.booleans()):
                density = draw(st.sampled_from([0.0, 0.5, 0.8, 1.0]))
                dtype = draw(st.sampled_from(MASK_DTYPES))
                code.append(f"{name} = (np.random.default_rng({seed + len(mask_arrays) + 3})"
                            f".random({shape_text(shape)}) < {density}).astype('{dtype}')")
                args.append(f"{name}={name}")
                mask_arrays[name] = shape
    causal = masks and draw(st.booleans())
    if causal:
        args.append("use_causal_mask=True")
    return dict(p=p, B=B, T=T, S=S, C=C, Cv=Cv, Ck=Ck, separate_value=separate_value,
                key_given=key_given, masks=mask_arrays, causal=causal, seed=seed,
                code="\n".join(code), args=args)


def mha_call(spec, extra=(), scores=True):
    args = list(spec["args"]) + list(extra)
    if scores:
        args.append("return_attention_scores=True")
    return f"layer({', '.join(args)})"


def mha_reference(spec, ns, q=None, v=None, k=None):
    """Float64 oracle (out, probs) and the combined (B, T, S) 'allowed' mask."""
    q = ns["q"] if q is None else q
    v = (ns["v"] if spec["separate_value"] else q) if v is None else v
    k = (ns["k"] if spec["key_given"] else None) if k is None else k
    masks = {name: np.asarray(ns[name]) != 0 for name in spec["masks"]}
    out, probs = R.mha_forward(q, v, k, ns["layer"].get_weights(), spec["p"]["H"],
                               use_causal_mask=spec["causal"], **masks)
    key_mask = masks.get("key_mask", masks.get("value_mask") if k is None else None)
    allowed = R.mha_combined_mask(spec["B"], spec["T"], spec["S"], masks.get("query_mask"),
                                  masks.get("value_mask"), key_mask, masks.get("attention_mask"),
                                  spec["causal"])
    return out, probs, allowed


def output_bias(spec, layer):
    W = layer.get_weights()
    return W[-1] if spec["p"]["use_bias"] else np.zeros(W[-1].shape[-1], np.float32)


@prop("mha", examples=450)
@given(spec=mha_specs())
def mha_matches_oracle(spec):
    """Any combination of query/value/key shapes, masks (of any real dtype, 1 = may attend),
    and the causal mask (top-left aligned when T != S, as Keras): outputs and scores match
    the float64 oracle; score rows sum to 1, or are all zero when nothing may be attended,
    and such a fully masked row's output is exactly the output bias."""
    o = run_case(spec["code"], f"out, scores = {mha_call(spec)}")
    o.ok()
    _check_mha_result(o, spec)


@prop("mha", examples=120)
@given(spec=mha_specs(key_mask_without_key=True).filter(
    lambda s: not s["key_given"] and "key_mask" in s["masks"]))
def mha_key_mask_without_key(spec):
    """An explicit key_mask while key is None (key defaults to value): Keras 3 honours it
    (ANDs it into the mask); seqattn must honour it too, or refuse it naming the layer or
    `key_mask` — never ignore it silently."""
    o = run_case(spec["code"], f"out, scores = {mha_call(spec)}")
    if o.ok_or_refused([MHA_NAME, "key_mask"]):
        _check_mha_result(o, spec)


def _check_mha_result(o, spec):
    out, probs, allowed = mha_reference(spec, o.ns)
    check_close(o, o["out"], out, "output")
    check_close(o, o["scores"], probs, "attention scores")
    sums = np.asarray(o["scores"], np.float64).sum(axis=-1)  # (B, H, T)
    any_allowed = allowed.any(axis=-1)[:, None, :]
    want = np.where(any_allowed, 1.0, 0.0)
    if np.abs(sums - want).max(initial=0) > 1e-5:
        o.fail(WrongValue, f"score rows sum to {sums.tolist()}, expected {want.tolist()}")
    dead = ~allowed.any(axis=-1)  # (B, T)
    if dead.any():
        check_equal(o, o["out"][dead], np.broadcast_to(output_bias(spec, o["layer"]),
                                                       o["out"][dead].shape),
                    "fully masked rows (must be the output bias)")
    shape = o["layer"].compute_output_shape([(None, spec["T"], spec["C"])])
    if tuple(o["out"].shape[1:]) != tuple(shape[1:]):
        o.fail(WrongValue, f"output shape {o['out'].shape}, compute_output_shape {shape}")
    o2 = run_case(spec["code"], f"out = {mha_call(spec, scores=False)}")
    o2.ok()
    check_equal(o2, o2["out"], o["out"], "output without return_attention_scores")


@prop("mha", examples=300)
@given(spec=mha_specs(), magnitude=st.sampled_from([10.0, 1e4, 1e30]))
def mha_masked_positions_do_not_matter(spec, magnitude):
    """Changing the query rows masked by query_mask and the key/value steps masked by
    value_mask/key_mask (to any finite values, even 1e30) changes no output: unmasked rows
    are unchanged and masked rows stay the output bias."""
    masks = spec["masks"]
    if not masks.keys() & {"query_mask", "value_mask", "key_mask"}:
        return
    change = [f"rng = np.random.default_rng({spec['seed'] + 99})"]
    if "query_mask" in masks:
        change.append(f"q2 = np.where((query_mask != 0)[..., None], q, rng.uniform(-{magnitude}, "
                      f"{magnitude}, q.shape).astype('float32'))")
    else:
        change.append("q2 = q")
    kv_masked = " | ".join(f"({m} == 0)" for m in ("value_mask", "key_mask") if m in masks)
    for var, given_ in (("v", spec["separate_value"]), ("k", spec["key_given"])):
        src = var if given_ else "q"
        if kv_masked and (given_ or var == "v"):
            change.append(f"{var}2 = np.where(({kv_masked})[..., None], rng.uniform(-{magnitude}, "
                          f"{magnitude}, {src}.shape).astype('float32'), {src})")
        elif given_ or var == "v":
            change.append(f"{var}2 = {src}")
    args2 = ["q2", "v2"] + (["key=k2"] if spec["key_given"] else []) + [
        a for a in spec["args"] if "=" in a and not a.startswith("key=")]
    o = run_case(lines(spec["code"], *change),
                 f"out = {mha_call(spec, scores=False)}\nout2 = layer({', '.join(args2)})")
    o.ok()
    check_close(o, o["out2"], o["out"], "output after changing masked positions", rtol=1e-6,
                atol=1e-6)


@prop("mha", examples=360)
@given(spec=mha_specs(), data=st.data())
def mha_nan_propagates_to_the_rows_that_read_it(spec, data):
    """NaN in a query row makes that row's output NaN; NaN in a key/value step makes every
    row that may attend it NaN (as PyTorch's nn.MultiheadAttention; Keras on the torch
    backend returns the bias for a NaN query row, see the report); rows that read no NaN
    stay finite and correct; a fully masked row stays the output bias."""
    B, T, S = spec["B"], spec["T"], spec["S"]
    cells = []
    nan_q = data.draw(st.lists(st.tuples(st.integers(0, B - 1), st.integers(0, T - 1),
                                         st.integers(0, spec["C"] - 1)), max_size=2), label="q")
    cells += [f"q[{b}, {t}, {c}] = nan" for b, t, c in nan_q]
    if data.draw(st.booleans(), label="a whole query row"):
        cells.append(f"q[{B - 1}, {T - 1}] = nan")
    nan_kv = []
    for var, present, width in (("v", spec["separate_value"], spec["Cv"]),
                                ("k", spec["key_given"], spec["Ck"])):
        if present:
            picks = data.draw(st.lists(st.tuples(st.integers(0, B - 1), st.integers(0, S - 1),
                                                 st.integers(0, width - 1)), max_size=1), label=var)
            cells += [f"{var}[{b}, {s}, {c}] = nan" for b, s, c in picks]
            nan_kv += [(b, s) for b, s, _ in picks]
    if not cells:
        return
    o = run_case(lines(spec["code"], *cells), f"out = {mha_call(spec, scores=False)}")
    o.ok()
    q = np.asarray(o["q"], np.float64)
    _, _, allowed = mha_reference(spec, o.ns, q=np.nan_to_num(q, nan=0.0),
                                  v=None if spec["separate_value"] else np.nan_to_num(q, nan=0.0),
                                  k=None)
    # Which rows read a NaN: their query holds one, or an allowed step of key/value does.
    kv_nan = np.zeros((B, S), bool)
    for b, s in nan_kv:
        kv_nan[b, s] = True
    if not spec["separate_value"]:  # value (and key, unless given) is the query itself
        kv_nan |= np.isnan(q).any(axis=-1)
    q_nan = np.isnan(q).any(axis=-1)  # (B, T)
    live = allowed.any(axis=-1)
    reads_nan = live & (q_nan | (allowed & kv_nan[:, None, :]).any(axis=-1))
    # A NaN key/value step that a row may NOT attend: Keras and PyTorch give NaN there too
    # (0 * NaN in probs . V); "masked steps do not matter" would keep the row finite. Both
    # are accepted (see the report); a finite row must then be correct.
    masked_nan = ~reads_nan & kv_nan.any(axis=-1)[:, None]
    out = np.asarray(o["out"], np.float64)
    rows_nan = np.isnan(out).all(axis=-1)
    rows_finite = np.isfinite(out).all(axis=-1)
    for b, t in zip(*np.nonzero(reads_nan & ~rows_nan)):
        o.fail(Propagation, f"row (b={b}, t={t}) reads a NaN (query NaN: {bool(q_nan[b, t])}) "
                            f"but its output is {out[b, t].tolist()}")
    for b, t in zip(*np.nonzero(~reads_nan & ~rows_finite & ~(masked_nan & rows_nan))):
        o.fail(Propagation, f"row (b={b}, t={t}) reads no NaN (fully masked: "
                            f"{not live[b, t]}) but its output is {out[b, t].tolist()}")
    # The rows that read no NaN: as the oracle computed with the NaN cells set to 0.
    clean = {"q": np.nan_to_num(q, nan=0.0)}
    for var in ("v", "k"):
        if var in o.ns:
            clean[var] = np.nan_to_num(np.asarray(o[var], np.float64), nan=0.0)
    ref, _, _ = mha_reference(spec, o.ns, q=clean["q"],
                              v=clean.get("v") if spec["separate_value"] else clean["q"],
                              k=clean.get("k"))
    keep = ~reads_nan & ~(masked_nan & rows_nan)
    check_close(o, np.asarray(o["out"])[keep], ref[keep], "rows that read no NaN")


MHA_BAD = {
    # name: (program lines spoiling the inputs, call arguments, shape shown in the message)
    "query_rank_2": ("q = q[:, 0]", None, "q"),
    "query_rank_4": ("q = q[..., None]", None, "q"),
    "value_rank_2": ("v = np.ones(v.shape[:2], np.float32)", None, "v"),
    "value_batch": ("v = np.ones((v.shape[0] + 1,) + v.shape[1:], np.float32)", None, "v"),
    "key_length": ("k = np.ones((k.shape[0], k.shape[1] + 1, k.shape[2]), np.float32)", "k", "k"),
    "key_batch": ("k = np.ones((k.shape[0] + 2,) + k.shape[1:], np.float32)", "k", "k"),
    "query_mask_shape": ("qm = np.ones((q.shape[0], q.shape[1] + 1), bool)", "qm", "qm"),
    "query_mask_rank": ("qm = np.ones(q.shape, bool)", "qm", "qm"),
    "value_mask_shape": ("vm = np.ones((v.shape[0], v.shape[1] + 2), bool)", "vm", "vm"),
    "key_mask_shape": ("km = np.ones((v.shape[0] + 1, v.shape[1]), bool)", "km", "km"),
    "attention_mask_shape": ("am = np.ones((q.shape[0], q.shape[1], v.shape[1] + 1))", "am", "am"),
    "attention_mask_rank": ("am = np.ones((q.shape[0], q.shape[1], v.shape[1], 1))", "am", "am"),
    "attention_mask_str": ("am = np.ones((q.shape[0], q.shape[1], v.shape[1])).astype(str)", "am",
                           None),
    "attention_mask_complex": ("am = np.ones((q.shape[0], q.shape[1], v.shape[1]), complex)", "am",
                               None),
    "query_mask_str": ("qm = np.ones(q.shape[:2]).astype(str)", "qm", None),
    "value_str": ("v = v.astype(str)", None, None),
    "key_object": ("k = k.astype(object)", "k", None),
    "channels_after_build": ("_ = layer(q, v)\nq = np.ones(q.shape[:2] + (q.shape[2] + 1,), "
                             "np.float32)", None, "q"),
    "value_channels_after_build": ("_ = layer(q, v)\nv = np.ones(v.shape[:2] + (v.shape[2] + 2,), "
                                   "np.float32)", None, "v"),
}


@prop("mha", examples=360)
@given(bad=st.sampled_from(sorted(MHA_BAD)), B=st.integers(1, 3), T=st.integers(1, 4),
       S=st.integers(1, 4), C=st.integers(1, 4), seed=st.integers(0, 99))
def mha_bad_inputs_refused(bad, B, T, S, C, seed):
    """Wrong ranks, batch sizes, key/value lengths, mask shapes, mask dtypes, or channel
    counts after build -> ValueError/TypeError naming the layer (and, for shapes, showing
    the received shape)."""
    spoil, extra, shown = MHA_BAD[bad]
    setup = lines(f"layer = layers.MultiHeadAttention(2, 3, name='{MHA_NAME}')",
                  array_code("q", (B, T, C), "float32", seed),
                  array_code("v", (B, S, C + 1), "float32", seed + 1),
                  array_code("k", (B, S, C), "float32", seed + 2), spoil)
    kw = {"k": "key=k", "qm": "query_mask=qm", "vm": "value_mask=vm", "km": "key=k, key_mask=km",
          "am": "attention_mask=am"}
    o = run_case(setup, f"out = layer(q, v{', ' + kw[extra] if extra else ''})")
    shapes = shape_variants(np.shape(o[shown])) if shown and shown in o.ns else ()
    types = (TypeError,) if shown is None else (ValueError,)
    o.refused([MHA_NAME], types=types, shapes=shapes)


@prop("mha", examples=240)
@given(spec=mha_specs(masks=False), which=st.sampled_from(
    ["attention_mask", "query_mask", "value_mask"]),
       values=st.lists(st.sampled_from([0.0, 1.0, 0.5, 2.0, -1.0, 1e-30, float("nan"),
                                        float("inf")]), min_size=1, max_size=4))
def mha_mask_values_other_than_0_1(spec, which, values):
    """Mask values other than 0/1: either refused (ValueError naming the layer) or read as
    Keras does (cast to bool: any nonzero value, NaN included, means 'may attend')."""
    B, T, S = spec["B"], spec["T"], spec["S"]
    shape = {"attention_mask": (B, T, S), "query_mask": (B, T), "value_mask": (B, S)}[which]
    setup = lines(spec["code"], f"{which} = np.resize(np.array({values!r}), {shape_text(shape)})")
    o = run_case(setup, f"out, scores = {mha_call(spec, extra=[f'{which}={which}'])}")
    if o.ok_or_refused([MHA_NAME]):
        spec = dict(spec, masks={which: shape})
        out, probs, _ = mha_reference(spec, o.ns)
        check_close(o, o["out"], out, "output (Keras: nonzero mask values attend)")


@prop("mha", examples=120)
@given(spec=mha_specs(masks=False), arg=st.sampled_from(
    ["use_causal_mask=1", "use_causal_mask='yes'", "use_causal_mask=None",
     "return_attention_scores=1", "training=True", "query=None", "bogus=1"]))
def mha_bad_call_arguments(spec, arg):
    """Bad call arguments (non-bool flags, training=True eagerly, unknown names) ->
    ValueError/TypeError naming the layer or the argument."""
    name = arg.split("=")[0]
    call = "layer(query=None)" if arg == "query=None" else mha_call(spec, extra=[arg], scores=False)
    o = run_case(spec["code"], f"out = {call}")
    o.refused([MHA_NAME, name])


# ========================================================================== family: sizes
# Layer sizes: huge ones refused before allocating; bad types/values refused at construction.

BIG_NAME = "probe_big"
HUGE_VALUES = [10**12, 2**36, 2**40, 2**48, 2**62, 2**63 - 1, 2**63, 2**64, 2**64 + 1, 10**30]

#: kind -> (setup with {N} (the huge value) and {c} (a small size), act, argument name (None:
#: the size comes from the input shape; the message must then name the layer), elements).
HUGE_KINDS = {
    "Dense.units": ("layer = layers.Dense({N}, name='probe_big')\nx = np.ones((1, {c}), np.float32)",
                    "out = layer(x)", "units", lambda N, c: N * c),
    "Dense.input": ("inp = seqattn.Input(shape=({N},))", "out = layers.Dense({c}, name='probe_big')(inp)",
                    None, lambda N, c: N * c),
    "MultiHeadAttention.num_heads": (
        "layer = layers.MultiHeadAttention(num_heads={N}, key_dim=4, name='probe_big')\n"
        "x = np.ones((1, 2, {c}), np.float32)", "out = layer(x)", "num_heads", lambda N, c: 16 * N * c),
    "MultiHeadAttention.key_dim": (
        "layer = layers.MultiHeadAttention(num_heads=2, key_dim={N}, name='probe_big')\n"
        "x = np.ones((1, 2, {c}), np.float32)", "out = layer(x)", "key_dim", lambda N, c: 8 * N * c),
    "MultiHeadAttention.value_dim": (
        "layer = layers.MultiHeadAttention(2, 4, value_dim={N}, name='probe_big')\n"
        "x = np.ones((1, 2, {c}), np.float32)", "out = layer(x)", "value_dim", lambda N, c: 4 * N * c),
    "MultiHeadAttention.output_shape": (
        "layer = layers.MultiHeadAttention(2, 4, output_shape={N}, name='probe_big')\n"
        "x = np.ones((1, 2, {c}), np.float32)", "out = layer(x)", "output_shape", lambda N, c: 8 * N),
    "MultiHeadAttention.input": (
        "inp = seqattn.Input(shape=(2, {N}))", "out = layers.MultiHeadAttention(1, {c}, "
        "name='probe_big')(inp)", None, lambda N, c: 3 * N * c),
    "Embedding.input_dim": (
        "layer = layers.Embedding({N}, {c}, name='probe_big')\nids = np.zeros((1, 2), np.int32)",
        "out = layer(ids)", "input_dim", lambda N, c: N * c),
    "Embedding.output_dim": (
        "layer = layers.Embedding({c}, {N}, name='probe_big')\nids = np.zeros((1, 2), np.int32)",
        "out = layer(ids)", "output_dim", lambda N, c: N * c),
    "TokenAndPositionEmbedding.vocabulary_size": (
        "layer = layers.TokenAndPositionEmbedding({N}, 2, {c}, name='probe_big')\n"
        "ids = np.zeros((1, 2), np.int32)", "out = layer(ids)", "vocabulary_size", lambda N, c: N * c),
    "TokenAndPositionEmbedding.sequence_length": (
        "layer = layers.TokenAndPositionEmbedding(4, {N}, {c}, name='probe_big')\n"
        "ids = np.zeros((1, 2), np.int32)", "out = layer(ids)", "sequence_length", lambda N, c: N * c),
    "TokenAndPositionEmbedding.embedding_dim": (
        "layer = layers.TokenAndPositionEmbedding(4, 2, {N}, name='probe_big')\n"
        "ids = np.zeros((1, 2), np.int32)", "out = layer(ids)", "embedding_dim", lambda N, c: 6 * N),
    "PositionEmbedding.sequence_length": (
        "layer = layers.PositionEmbedding({N}, name='probe_big')\nx = np.ones((1, 2, {c}), np.float32)",
        "out = layer(x)", "sequence_length", lambda N, c: N * c),
    "LayerNormalization.input": (
        "inp = seqattn.Input(shape=(2, {N}))", "out = layers.LayerNormalization(name='probe_big')(inp)",
        None, lambda N, c: 2 * N),
    "Conv1D.filters": (
        "layer = layers.Conv1D({N}, 2, name='probe_big')\nx = np.ones((1, 4, {c}), np.float32)",
        "out = layer(x)", "filters", lambda N, c: 2 * N * c),
    "Conv1D.kernel_size": (
        "layer = layers.Conv1D(2, {N}, padding='same', name='probe_big')\n"
        "x = np.ones((1, 4, {c}), np.float32)", "out = layer(x)", "kernel_size", lambda N, c: 2 * N * c),
    "Conv1D.input": (
        "inp = seqattn.Input(shape=(4, {N}))", "out = layers.Conv1D({c}, 2, name='probe_big')(inp)",
        None, lambda N, c: 2 * N * c),
    "TransformerEncoder.intermediate_dim": (
        "inp = seqattn.Input(shape=(2, {c}))",
        "out = layers.TransformerEncoder({N}, 1, name='probe_big')(inp)", "intermediate_dim",
        lambda N, c: 2 * N * c),
}


@st.composite
def huge_cases(draw):
    kind = draw(st.sampled_from(sorted(HUGE_KINDS)))
    N = draw(st.one_of(st.sampled_from(HUGE_VALUES), st.integers(2**36, 2**70)))
    c = draw(st.integers(1, 8))
    setup, act, arg, elements = HUGE_KINDS[kind]
    if elements(N, c) < HUGE_ELEMENTS:
        c = 8
    return kind, setup.format(N=N, c=c), act.format(N=N, c=c), arg


def _huge(kind_filter):
    @prop("sizes", examples=120, name=f"sizes_huge_refused_before_allocating[{kind_filter}]")
    @given(case=huge_cases().filter(lambda c: c[0].split(".")[0] == kind_filter))
    def test(case):
        """A size of 2**36 float32 parameters or more (256 GiB; also sizes beyond int64) is
        refused with a ValueError naming the argument (or, for a size coming from the input
        shape, the layer) when the layer is built: within a second, allocating nothing."""
        kind, setup, act, arg = case
        # Refusing at construction (the argument checks) is as good as at build time: both
        # come before any allocation. A size from an Input's shape may be refused by Input.
        o = run_case("", setup + "\n" + act, measure=True)
        o.refused([arg] if arg else [BIG_NAME, "`shape`"], types=(ValueError,))
        if o.seconds > 1.0:
            o.fail(Costly, f"the refusal took {o.seconds:.2f} s (> 1 s)")
        if o.rss_growth > 64 << 20:
            o.fail(Costly, f"resident memory grew by {o.rss_growth >> 20} MiB before the refusal")
    return test


for _layer in sorted({k.split(".")[0] for k in HUGE_KINDS}):
    _huge(_layer)


#: constructor template with {v}, the argument's name, and whether None is a valid value.
SIZE_ARGS = [
    ("layers.Dense(units={v})", "units", False),
    ("layers.Embedding(input_dim={v}, output_dim=4)", "input_dim", False),
    ("layers.Embedding(input_dim=4, output_dim={v})", "output_dim", False),
    ("layers.TokenAndPositionEmbedding(vocabulary_size={v}, sequence_length=4, embedding_dim=4)",
     "vocabulary_size", False),
    ("layers.TokenAndPositionEmbedding(vocabulary_size=4, sequence_length={v}, embedding_dim=4)",
     "sequence_length", False),
    ("layers.TokenAndPositionEmbedding(vocabulary_size=4, sequence_length=4, embedding_dim={v})",
     "embedding_dim", False),
    ("layers.MultiHeadAttention(num_heads={v}, key_dim=2)", "num_heads", False),
    ("layers.MultiHeadAttention(num_heads=2, key_dim={v})", "key_dim", False),
    ("layers.MultiHeadAttention(2, 2, value_dim={v})", "value_dim", True),
    ("layers.MultiHeadAttention(2, 2, output_shape={v})", "output_shape", True),
    ("layers.PositionEmbedding(sequence_length={v})", "sequence_length", False),
    ("layers.TransformerEncoder(intermediate_dim={v}, num_heads=2)", "intermediate_dim", False),
    ("layers.TransformerEncoder(intermediate_dim=8, num_heads={v})", "num_heads", False),
    ("layers.Conv1D(filters={v}, kernel_size=2)", "filters", False),
    ("layers.Conv1D(2, kernel_size={v})", "kernel_size", False),
    ("layers.Conv1D(2, 2, strides={v})", "strides", False),
    ("layers.Conv1D(2, 2, dilation_rate={v})", "dilation_rate", False),
    ("layers.MaxPooling1D(pool_size={v})", "pool_size", False),
    ("layers.AveragePooling1D(2, strides={v})", "strides", True),
]
#: Window arguments Keras also takes as a 1-tuple or 1-list ([4] is valid there).
WINDOW_ARGS = ("kernel_size", "strides", "dilation_rate", "pool_size")
BAD_SIZES = ["0", "-1", "-2**70", "True", "False", "2.0", "2.5", "float('nan')", "float('inf')",
             "'4'", "[4]", "4j", "np.float64(4.0)", "np.bool_(True)", "object()", "None", "b'4'"]


@prop("sizes", examples=900)
@given(ctor=st.sampled_from(SIZE_ARGS), bad=st.sampled_from(BAD_SIZES))
def sizes_bad_values_refused_at_construction(ctor, bad):
    """Zero, negative, bool, float, string, complex, list, None (where required) sizes ->
    ValueError/TypeError at construction naming the argument."""
    template, arg, optional = ctor
    if (bad == "None" and optional) or (bad == "[4]" and arg in ("output_shape",) + WINDOW_ARGS):
        return  # None is the default; Keras takes output_shape as an int or a 1-tuple
    o = run_case("", f"layer = {template.format(v=bad)}")
    o.refused([arg], got="layer")


@prop("sizes", examples=120)
@given(ctor=st.sampled_from(SIZE_ARGS), value=st.sampled_from(
    ["np.int64(3)", "np.int32(3)", "np.uint8(3)", "np.int16(3)"]))
def sizes_numpy_integers(ctor, value):
    """A NumPy integer size works like the Python int (get_config holds a plain int), or is
    refused naming the argument (Keras 3 refuses NumPy integers)."""
    template, arg, _ = ctor
    o = run_case("", f"layer = {template.format(v=value)}\nconfig = layer.get_config()")
    if o.ok_or_refused([arg]):
        got = o["config"][arg]
        if type(got) is not int or got != 3:
            o.fail(WrongValue, f"get_config()[{arg!r}] is {got!r} ({type(got).__name__}), "
                               "expected the int 3")


OTHER_ARGS = [
    # (template with {v}, argument name, bad values)
    ("layers.MultiHeadAttention(2, 2, dropout={v})", "dropout",
     ["-0.1", "1.0", "1.5", "float('nan')", "float('inf')", "'0.1'", "None", "True", "[0.1]"]),
    ("layers.Dropout(rate={v})", "rate",
     ["-0.1", "1.0", "1.5", "float('nan')", "-float('inf')", "'0.1'", "None", "True"]),
    ("layers.TransformerEncoder(8, 2, dropout={v})", "dropout",
     ["-1e-9", "1.0", "float('nan')", "'x'", "None", "False"]),
    ("layers.LayerNormalization(epsilon={v})", "epsilon",
     ["0", "-1e-3", "float('nan')", "float('inf')", "'1e-3'", "None", "True", "0j"]),
    ("layers.TransformerEncoder(8, 2, layer_norm_epsilon={v})", "layer_norm_epsilon",
     ["0.0", "-1.0", "float('nan')", "float('inf')", "'1e-5'", "None"]),
    ("layers.SinePositionEncoding(max_wavelength={v})", "max_wavelength",
     ["0", "-1", "float('nan')", "float('inf')", "'10'", "None", "True"]),
    ("layers.Dropout(0.1, seed={v})", "seed", ["-1", "2**64", "1.5", "'1'", "True", "[1]"]),
    ("layers.Dense(2, activation={v})", "activation",
     ["'swish'", "''", "'RELU'", "3", "True", "'soft max'", "[\"relu\"]"]),
    ("layers.Activation({v})", "activation", ["'swish'", "3", "True", "b'relu'"]),
    ("layers.TransformerEncoder(8, 2, activation={v})", "activation", ["'swish'", "3"]),
    ("layers.Embedding(4, 4, mask_zero={v})", "mask_zero", ["1", "0", "'yes'", "None", "2.0"]),
    ("layers.Dense(2, use_bias={v})", "use_bias", ["1", "'no'", "None"]),
    ("layers.MultiHeadAttention(2, 2, use_bias={v})", "use_bias", ["0", "'True'"]),
    ("layers.LayerNormalization(center={v})", "center", ["1", "None"]),
    ("layers.LayerNormalization(scale={v})", "scale", ["0", "'x'"]),
    ("layers.TransformerEncoder(8, 2, normalize_first={v})", "normalize_first", ["1", "None"]),
    ("layers.Conv1D(2, 2, padding={v})", "padding", ["'full'", "''", "3", "None", "'valid '"]),
    ("layers.MaxPooling1D(2, padding={v})", "padding", ["'causal'", "'full'", "None", "1"]),
    ("layers.Conv1D(2, 2, activation={v})", "activation", ["'swish'", "3"]),
    ("layers.Conv1D(2, 2, use_bias={v})", "use_bias", ["1", "None"]),
    ("layers.Dense(2, name={v})", "name", ["3", "b'x'", "['x']"]),
    ("layers.Dense(2, bogus_argument={v})", "bogus_argument", ["1"]),
]


@prop("sizes", examples=360)
@given(entry=st.sampled_from(OTHER_ARGS), data=st.data())
def sizes_other_arguments_refused(entry, data):
    """Rates outside [0, 1), NaN/inf, non-positive epsilons and wavelengths, bad seeds,
    unknown activations, non-bool flags, non-string names, unknown keywords ->
    ValueError/TypeError at construction naming the argument (or the bad value)."""
    template, arg, bads = entry
    bad = data.draw(st.sampled_from(bads), label="value")
    o = run_case("", f"layer = {template.format(v=bad)}")
    o.refused([arg], got="layer")


@prop("sizes", examples=120)
@given(axis=st.sampled_from(["0", "1", "3", "-2", "-4", "'x'", "1.5", "True", "None", "[0, 1]",
                             "(2,)", "2", "-1", "[-1]"]), rank=st.sampled_from([2, 3]))
def sizes_layer_norm_axis(axis, rank):
    """LayerNormalization(axis=...): the last axis (-1, rank-1, [-1]) works; any other axis,
    or a non-integer, is refused naming `axis` (at construction or at the first call)."""
    o = run_case(f"x = np.ones({shape_text((2,) * rank)}, np.float32)",
                 f"layer = layers.LayerNormalization(axis={axis}, name='{LAYER_NAME}')\n"
                 "out = layer(x)")
    last = {"-1", str(rank - 1), "[-1]", f"({rank - 1},)"}
    if axis in last:
        o.ok()
    else:
        o.refused(["axis"], got="out")


@prop("sizes", examples=180)
@given(shape=st.sampled_from(["-1", "0", "(2, -1)", "(2, 0)", "'x'", "2.5", "(2.0,)", "True",
                              "(True,)", "None", "((2,),)", "(2**70,)"]),
       dtype=st.sampled_from(["'int32'", "'float32'"]))
def sizes_input_shape(shape, dtype):
    """seqattn.Input with a bad shape (non-positive, non-integer, bool) -> ValueError/TypeError
    naming `shape`; a huge one is either accepted symbolically or refused naming `shape`."""
    o = run_case("", f"inp = seqattn.Input(shape={shape}, dtype={dtype})")
    if shape == "(2**70,)":
        o.ok_or_refused(["shape"])
        return
    o.refused(["shape"], got="inp")


@prop("sizes", examples=90)
@given(dtype=st.sampled_from(["'int64'", "'float64'", "'bool'", "'x'", "np.int32", "None", "3",
                              "'float16'", "'uint8'"]))
def sizes_input_dtype(dtype):
    """seqattn.Input with a dtype other than int32/float32/string: refused naming `dtype`, or
    accepted (Keras accepts any dtype) — never another exception."""
    o = run_case("", f"inp = seqattn.Input(shape=(3,), dtype={dtype})")
    o.ok_or_refused(["dtype"])


# ======================================================================== family: weights
# set_weights / get_weights on layers, composite blocks and models.

WEIGHTED = ["Dense", "LayerNormalization", "Embedding", "TokenAndPositionEmbedding",
            "MultiHeadAttention", "PositionEmbedding", "Conv1D"]


@st.composite
def weighted_layers(draw):
    """A built layer with weights (program lines) and how to call it."""
    kind = draw(st.sampled_from(WEIGHTED))
    if kind in ("Embedding", "TokenAndPositionEmbedding"):
        spec = draw(id_specs())
        return dict(kind=kind, spec=spec, code=lines(f"layer = {spec['code'].replace(ID_NAME, LAYER_NAME)}",
                                                      ids_code(spec), "_ = layer(ids)"),
                    call="layer(ids)")
    spec = draw(feature_specs(kinds=(kind,)))
    if kind == "LayerNormalization" and not (spec["p"]["center"] or spec["p"]["scale"]):
        spec["p"]["scale"] = True  # a layer with weights
        spec["code"] = spec["code"].replace("scale=False", "scale=True")
    return dict(kind=kind, spec=spec, code=lines(f"layer = {spec['code']}", feature_inputs_code(spec),
                                                  f"_ = {feature_call(spec)}"),
                call=feature_call(spec))


def layer_oracle(w, ns):
    if w["kind"] in ("Embedding", "TokenAndPositionEmbedding"):
        return id_oracle(ns["layer"], ns["ids"])
    xs = [ns[f"x{i}"] for i in range(w["spec"]["n_inputs"])]
    return feature_reference(w["spec"], ns["layer"], xs)


@prop("weights", examples=240)
@given(w=weighted_layers(), dtype=st.sampled_from(["float16", "float32", "float64", "longdouble",
                                                   "int8", "int64", "uint16"]),
       form=st.sampled_from(["list", "tuple", "nested_lists", "F_order"]))
def weights_round_trip(w, dtype, form):
    """set_weights with arrays of any real dtype (or nested lists, or Fortran order) of the
    right shapes: get_weights returns them cast to float32, and the layer computes with them
    (the oracle with the new weights)."""
    make = (f"new = [np.random.default_rng(i).uniform(-1, 1, a.shape).astype('{dtype}') "
            f"for i, a in enumerate(layer.get_weights())]" if dtype[0] in "fl" else
            f"new = [np.random.default_rng(i).integers(0, 3, a.shape).astype('{dtype}') "
            f"for i, a in enumerate(layer.get_weights())]")
    conv = {"list": "arg = list(new)", "tuple": "arg = tuple(new)",
            "nested_lists": "arg = [a.tolist() for a in new]",
            "F_order": "arg = [np.asfortranarray(a) for a in new]"}[form]
    o = run_case(lines(w["code"], make, conv),
                 f"layer.set_weights(arg)\ngot = layer.get_weights()\nout = {w['call']}")
    o.ok()
    new = o["new"]
    got = o["got"]
    if len(got) != len(new):
        o.fail(WrongValue, f"get_weights returned {len(got)} arrays after setting {len(new)}")
    for i, (g, n) in enumerate(zip(got, new)):
        check_equal(o, g, np.asarray(n).astype(np.float32), f"weight {i}")
    check_close(o, o["out"], layer_oracle(w, o.ns), "output with the new weights")


BAD_WEIGHTS = {
    # name: (program line turning `new` (a valid list) into the bad argument, TypeError only?)
    "one_too_few": ("arg = new[:-1]", False),
    "one_too_many": ("arg = new + [new[-1]]", False),
    "empty_list": ("arg = []", False),
    "extra_axis": ("arg = [a[None] for a in new]", False),
    "last_axis_plus_one": ("arg = [np.zeros(a.shape[:-1] + (a.shape[-1] + 1,)) for a in new]",
                           False),
    "flattened": ("arg = [a.reshape(-1) if a.ndim > 1 else a.reshape(1, -1) for a in new]", False),
    "scalar": ("arg = [np.float32(1.0) for a in new]", False),
    "object_array": ("arg = [a.astype(object) for a in new]", None),
    "str_array": ("arg = [a.astype(str) for a in new]", True),
    "bytes_array": ("arg = [a.astype('S') for a in new]", True),
    "complex_array": ("arg = [a.astype(complex) for a in new]", True),
    "datetime_array": ("arg = [np.zeros(a.shape, 'M8[s]') for a in new]", True),
    "none_entry": ("arg = [None] + new[1:]", None),
    "nan": ("arg = [a.copy() for a in new]; arg[-1].flat[0] = nan", False),
    "inf": ("arg = [a.copy() for a in new]; arg[0].flat[-1] = inf", False),
    "minus_inf": ("arg = [a.copy() for a in new]; arg[0].flat[0] = -inf", False),
    "float32_overflow": ("arg = [a.astype('float64') for a in new]; arg[0].flat[0] = 1e39", False),
    "not_a_list": ("arg = new[0]", None),
    "dict": ("arg = {i: a for i, a in enumerate(new)}", None),
    "ragged_nested_list": ("arg = [[[1.0, 2.0], [3.0]]] + new[1:]", None),
    "string": ("arg = 'weights'", None),
    "none": ("arg = None", True),
}


def _bad_weights(kind):
    @prop("weights", examples=75, name=f"weights_bad_refused[{kind}]")
    @given(w=weighted_layers())
    def test(w):
        """Bad set_weights arguments -> ValueError/TypeError naming the layer, and the layer's
        weights unchanged (no partial update)."""
        spoil, type_only = BAD_WEIGHTS[kind]
        o = run_case(lines(w["code"], "before = layer.get_weights()",
                           "new = [a + 1 for a in before]", spoil),
                     "layer.set_weights(arg)")
        if kind == "last_axis_plus_one" and all(a.ndim == 0 for a in o["new"]):
            return
        if kind == "flattened" and all(a.ndim == 1 and a.shape[0] == 1 for a in o["new"]):
            return
        o.refused([LAYER_NAME], types=(TypeError,) if type_only else (ValueError, TypeError),
                  got="arg")
        after = o["layer"].get_weights()
        for i, (a, b) in enumerate(zip(after, o["before"])):
            if not np.array_equal(a, b):
                o.fail(Silent, f"weight {i} changed although set_weights was refused")
    return test


for _kind in BAD_WEIGHTS:
    _bad_weights(_kind)


@prop("weights", examples=60)
@given(kind=st.sampled_from(WEIGHTED))
def weights_unbuilt_layer(kind):
    """An unbuilt layer: get_weights() is [] and set_weights refuses naming the layer."""
    ctor = {"Dense": "layers.Dense(3", "LayerNormalization": "layers.LayerNormalization(",
            "Embedding": "layers.Embedding(5, 2", "MultiHeadAttention": "layers.MultiHeadAttention(2, 2",
            "TokenAndPositionEmbedding": "layers.TokenAndPositionEmbedding(5, 3, 2",
            "PositionEmbedding": "layers.PositionEmbedding(4", "Conv1D": "layers.Conv1D(3, 2"}[kind]
    sep = "" if ctor.endswith("(") else ", "
    o = run_case(f"layer = {ctor}{sep}name='{LAYER_NAME}')\nempty = layer.get_weights()",
                 "layer.set_weights([np.zeros((2, 2))])")
    if o["empty"] != []:
        o.fail(WrongValue, f"an unbuilt layer's get_weights() is {summarize(o['empty'])}")
    o.refused([LAYER_NAME])


MODEL_FOR_WEIGHTS = (
    "inp = seqattn.Input(shape=(4,), dtype='int32')\n"
    "h = layers.TokenAndPositionEmbedding(9, 4, 4, mask_zero=True, name='probe_emb')(inp)\n"
    "h = layers.TransformerEncoder(6, 2, name='probe_te')(h)\n"
    "out = layers.Dense(2, activation='softmax', name='probe_out')(layers.GlobalAveragePooling1D()(h))\n"
    f"model = seqattn.Model(inp, out, name='{MODEL_NAME}')\n"
    "ids = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])\n"
    "pred0 = model.predict(ids, verbose=0)")


@prop("weights", examples=180)
@given(target=st.sampled_from(["model", "block"]), kind=st.sampled_from(sorted(BAD_WEIGHTS)))
def weights_model_and_block_refuse_atomically(target, kind):
    """Model.set_weights and TransformerEncoder.set_weights with a bad list -> ValueError/
    TypeError naming the model/block or one of its layers; no weight changes (a refused call
    must not leave the first layers updated) and predict gives the same result."""
    spoil, type_only = BAD_WEIGHTS[kind]
    obj = "model" if target == "model" else "model.get_layer('probe_te')"
    o = run_case(lines(MODEL_FOR_WEIGHTS, f"obj = {obj}", "before = obj.get_weights()",
                       "new = [a + 1 for a in before]", spoil), "obj.set_weights(arg)")
    o.refused([MODEL_NAME, "probe_emb", "probe_te", "probe_out"],
              types=(TypeError,) if type_only else (ValueError, TypeError), got="arg")
    after = o["obj"].get_weights()
    for i, (a, b) in enumerate(zip(after, o["before"])):
        if not np.array_equal(a, b):
            o.fail(Silent, f"weight {i} changed although set_weights was refused")
    o2 = run_case(lines(MODEL_FOR_WEIGHTS, f"obj = {obj}", "new = [a + 1 for a in obj.get_weights()]",
                        spoil), "try:\n    obj.set_weights(arg)\nexcept (ValueError, TypeError):\n"
                                "    pass\npred1 = model.predict(ids, verbose=0)")
    o2.ok()
    check_equal(o2, o2["pred1"], o2["pred0"], "predictions after a refused set_weights")


# ========================================================================= family: losses
# seqattn.losses objects called on arrays (the model path is in family `model`).

LOSS_CLASSES = {"scce": "SparseCategoricalCrossentropy", "bce": "BinaryCrossentropy"}
LOSS_NAMES = ["y_true", "y_pred", "sample_weight", "label", "SparseCategoricalCrossentropy",
              "BinaryCrossentropy", "sparse_categorical_crossentropy", "binary_crossentropy"]


@st.composite
def loss_cases(draw, kind=None, weights=None):
    """A loss object and valid y_true / y_pred (/ sample_weight) as program lines."""
    kind = kind or draw(st.sampled_from(["scce", "bce"]))
    logits = draw(st.booleans())
    B = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 999))
    scale = draw(st.sampled_from([1.0, 10.0, 100.0]))
    pdtype = draw(st.sampled_from(["float16", "float32", "float64"]))
    g = f"np.random.default_rng({seed})"
    code = [f"loss = seqattn.losses.{LOSS_CLASSES[kind]}(from_logits={logits})"]
    if kind == "scce":
        K = draw(st.integers(2, 5))
        ydt = draw(st.sampled_from(INT_DTYPES + ["float32", "float64"]))
        yshape = draw(st.sampled_from([(B,), (B, 1)]))
        code.append(f"y_true = {g}.integers(0, {K}, {shape_text(yshape)}).astype('{ydt}')")
        z = f"{g}.normal(0, {scale}, ({B}, {K}))"
        if logits:
            code.append(f"y_pred = {z}.astype('{pdtype}')")
        else:
            code.append(f"z = {z}\ny_pred = np.exp(z - z.max(axis=-1, keepdims=True))\n"
                        f"y_pred = (y_pred / y_pred.sum(axis=-1, keepdims=True)).astype('{pdtype}')")
    else:
        K = draw(st.sampled_from([1, 1, 3]))
        pshape = (B, K)
        yshape = draw(st.sampled_from([(B,), (B, 1)])) if K == 1 else (B, K)
        ydt = draw(st.sampled_from(["float16", "float32", "float64", "int8", "uint8", "int64",
                                    "bool"]))
        soft = ydt.startswith("float") and draw(st.booleans())
        code.append(f"y_true = {g}.{'random' if soft else 'integers'}("
                    f"{'' if soft else '0, 2, '}{shape_text(yshape)}).astype('{ydt}')")
        z = f"{g}.normal(0, {scale}, {shape_text(pshape)})"
        code.append(f"y_pred = {z}.astype('{pdtype}')" if logits else
                    f"y_pred = (1 / (1 + np.exp(-{z}))).astype('{pdtype}')")
    use_w = draw(st.booleans()) if weights is None else weights
    if use_w:
        wdt = draw(st.sampled_from(["float32", "float64", "int64", "uint8"]))
        code.append(f"sample_weight = {g}.integers(0, 4, ({B},)).astype('{wdt}')")
    else:
        code.append("sample_weight = None")
    return dict(kind=kind, logits=logits, B=B, K=K, code="\n".join(code), seed=seed)


_EPS32 = (float(np.float32(1e-7)), float(np.float32(1 - 1e-7)))


def _probability_loss(kind, y, p):
    """Keras's probability path in float32 arithmetic at the clip bounds (Keras clips a
    float32 tensor to [1e-7, 1 - 1e-7], and float32(1 - 1e-7) = 1 - 1.19e-7), logs in float64.
    y: labels of one sample; p: its float32 predictions."""
    p = np.asarray(p, np.float64)
    if kind == "scce":
        p = p / p.sum(axis=-1, keepdims=True)
        label = int(np.asarray(y).reshape(-1)[0])
        return float(-np.log(np.clip(p.reshape(-1)[label], *_EPS32)))
    pc = np.clip(p.reshape(-1), *_EPS32)
    yt = np.asarray(y, np.float64).reshape(-1)
    return float(np.mean(-(yt * np.log(pc) + (1 - yt) * np.log(1 - pc))))


def loss_oracle(kind, logits, y_true, y_pred, sample_weight):
    """Keras 3 value (sum_over_batch_size): Σ_i w_i l_i / N over the samples, from the
    predictions as float32 (seqattn computes in float32, as Keras does)."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred).astype(np.float32).astype(np.float64)
    n = y_pred.shape[0]
    per = []
    for i in range(n):
        if not logits:
            per.append(_probability_loss(kind, y_true[i:i + 1], y_pred[i:i + 1]))
        elif kind == "scce":
            per.append(R.sparse_categorical_crossentropy(
                np.asarray(y_true[i:i + 1]).astype(np.float64), y_pred[i:i + 1], logits)[0])
        else:
            yt = np.asarray(y_true[i:i + 1], np.float64).reshape(y_pred[i:i + 1].shape)
            per.append(R.binary_crossentropy(yt, y_pred[i:i + 1], logits)[0])
    per = np.asarray(per)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    return float((per * w).sum() / n)


def check_loss_value(o, case, what="loss"):
    value = o["out"]
    if not isinstance(value, (float, np.floating)) or np.ndim(value) != 0:
        o.fail(WrongValue, f"the loss returned {summarize(value)}, not a float")
    expected = loss_oracle(case["kind"], case["logits"], o["y_true"], o["y_pred"],
                           o["sample_weight"])
    if not math.isfinite(float(value)):
        o.fail(WrongValue, f"{what} is {value!r} (oracle {expected!r})")
    if abs(float(value) - expected) > 2e-4 * max(1.0, abs(expected)):
        o.fail(WrongValue, f"{what} is {float(value)!r}, the Keras formula gives {expected!r}")


@prop("losses", examples=450)
@given(case=loss_cases(), form=st.sampled_from(["arrays", "lists", "F"]))
def losses_valid_match_keras(case, form):
    """Valid labels of any integer/whole-float (bool for binary) dtype, (B,) or (B, 1);
    logits or probabilities of any float dtype; optional sample weights: a finite float equal
    to Keras's formula (sum_over_batch_size, probabilities clipped to [1e-7, 1 - 1e-7])."""
    conv = {"arrays": "", "lists": "y_true_arg, y_pred_arg = y_true.tolist(), y_pred.tolist()",
            "F": "y_true_arg, y_pred_arg = np.asfortranarray(y_true), np.asfortranarray(y_pred)"}
    setup = lines(case["code"], "y_true_arg, y_pred_arg = y_true, y_pred", conv[form])
    o = run_case(setup, "out = loss(y_true_arg, y_pred_arg, sample_weight=sample_weight)")
    o.ok()
    check_loss_value(o, case)


BAD_LOSS_INPUTS = {
    # name: (kinds, spoiling line, TypeError only?)
    "label_too_large": (["scce"], "y_true = y_true.astype('int64'); y_true.flat[0] = y_pred.shape[-1]", False),
    "label_negative": (["scce", "bce"], "y_true = y_true.astype('float64'); y_true.flat[0] = -1", False),
    "label_non_whole": (["scce"], "y_true = y_true.astype('float64'); y_true.flat[-1] = 0.5", False),
    "label_two": (["bce"], "y_true = y_true.astype('float64'); y_true.flat[0] = 2", False),
    "label_nan": (["scce", "bce"], "y_true = y_true.astype('float32'); y_true.flat[0] = nan", False),
    "label_inf": (["scce", "bce"], "y_true = y_true.astype('float64'); y_true.flat[-1] = inf", False),
    "label_huge_int": (["scce"], "y_true = y_true.astype('int64'); y_true.flat[0] = 2**32", False),
    "label_str": (["scce", "bce"], "y_true = y_true.astype(str)", True),
    "label_object": (["scce", "bce"], "y_true = y_true.astype(object)", None),
    "label_complex": (["scce", "bce"], "y_true = y_true.astype(complex)", True),
    "labels_one_hot": (["scce"], "y_true = np.eye(y_pred.shape[-1])[np.zeros(len(y_pred), int)]", False),
    "batch_mismatch": (["scce", "bce"], "y_true = np.concatenate([y_true, y_true[:1]])", False),
    "pred_rank_1": (["scce"], "y_pred = y_pred[:, 0]", False),
    "pred_shape_mismatch": (["bce"], "y_pred = np.concatenate([y_pred, y_pred], axis=-1)", False),
    "pred_str": (["scce", "bce"], "y_pred = y_pred.astype(str)", True),
    "pred_object": (["scce", "bce"], "y_pred = y_pred.astype(object)", None),
    "pred_complex": (["scce", "bce"], "y_pred = y_pred.astype(complex)", True),
    "pred_none": (["scce", "bce"], "y_pred = None", None),
    "label_none": (["scce", "bce"], "y_true = None", None),
    "pred_ragged": (["scce"], "y_pred = [list(r) for r in y_pred] + [[0.5]]", None),
    "weight_negative": (["scce", "bce"], "sample_weight = np.ones(len(y_pred)); sample_weight[0] = -1", False),
    "weight_nan": (["scce", "bce"], "sample_weight = np.ones(len(y_pred)); sample_weight[-1] = nan", False),
    "weight_shape": (["scce", "bce"], "sample_weight = np.ones(len(y_pred) + 1)", False),
    "weight_str": (["scce", "bce"], "sample_weight = np.ones(len(y_pred)).astype(str)", True),
}


def _bad_loss(name):
    kinds, spoil, type_only = BAD_LOSS_INPUTS[name]

    @prop("losses", examples=45, name=f"losses_bad_refused[{name}]")
    @given(case=st.sampled_from(kinds).flatmap(lambda k: loss_cases(kind=k)))
    def test(case):
        """Bad labels, predictions or sample weights -> ValueError/TypeError naming the
        argument (y_true, y_pred, sample_weight, the label) or the loss."""
        o = run_case(lines(case["code"], spoil),
                     "out = loss(y_true, y_pred, sample_weight=sample_weight)")
        o.refused(LOSS_NAMES, types=(TypeError,) if type_only else (ValueError, TypeError))
    return test


for _name in BAD_LOSS_INPUTS:
    _bad_loss(_name)


@prop("losses", examples=180)
@given(case=loss_cases(), which=st.sampled_from(["nan", "inf", "minus_inf"]))
def losses_nonfinite_predictions(case, which):
    """NaN in y_pred: a NaN loss (propagation) or a refusal, never a finite number. inf in
    y_pred (logits, or a probability Keras would clip): any float or a refusal; never a crash
    or another exception."""
    value = {"nan": "nan", "inf": "inf", "minus_inf": "-inf"}[which]
    o = run_case(lines(case["code"], f"y_pred = y_pred.astype('float32'); y_pred.flat[0] = {value}"),
                 "out = loss(y_true, y_pred, sample_weight=sample_weight)")
    if o.ok_or_refused(LOSS_NAMES) and which == "nan":
        w = o["sample_weight"]
        if math.isfinite(float(o["out"])) and (w is None or np.asarray(w)[0] != 0):
            o.fail(Propagation, f"a NaN prediction gave the finite loss {o['out']!r}")


@prop("losses", examples=180)
@given(case=loss_cases(), how=st.sampled_from(["above_one", "negative", "unnormalized", "zero_row"]))
def losses_probabilities_out_of_range(case, how):
    """Probabilities outside [0, 1] or rows not summing to 1 (from_logits=False): either
    refused naming y_pred, or Keras's result (clip to [1e-7, 1 - 1e-7]; sparse categorical
    renormalises each row first)."""
    if case["logits"]:
        return
    spoil = {"above_one": "y_pred = y_pred.astype('float64'); y_pred.flat[0] = 1.5",
             "negative": "y_pred = y_pred.astype('float64'); y_pred.flat[0] = -0.25",
             "unnormalized": "y_pred = y_pred.astype('float64') * 3",
             "zero_row": "y_pred = y_pred.astype('float64'); y_pred[0] = 0"}[how]
    o = run_case(lines(case["code"], spoil), "out = loss(y_true, y_pred, sample_weight=sample_weight)")
    if o.ok_or_refused(LOSS_NAMES) and not (how == "zero_row" and case["kind"] == "scce"):
        check_loss_value(o, case, "loss (Keras semantics)")


@prop("losses", examples=60)
@given(kind=st.sampled_from(["scce", "bce"]), logits=st.booleans())
def losses_empty_batch(kind, logits):
    """An empty batch: 0.0 or a ValueError naming the argument; never a crash or NaN."""
    k = 3 if kind == "scce" else 1
    o = run_case(f"loss = seqattn.losses.{LOSS_CLASSES[kind]}(from_logits={logits})",
                 f"out = loss(np.zeros((0,)), np.zeros((0, {k}), np.float32))")
    if o.ok_or_refused(LOSS_NAMES) and float(o["out"]) != 0.0:
        o.fail(WrongValue, f"the loss of an empty batch is {o['out']!r}")


@prop("losses", examples=90)
@given(bad=st.sampled_from(["1", "'yes'", "None", "np.float64(1.0)"]),
       kind=st.sampled_from(["scce", "bce"]))
def losses_bad_from_logits(bad, kind):
    """A non-bool from_logits -> TypeError naming from_logits."""
    o = run_case("", f"loss = seqattn.losses.{LOSS_CLASSES[kind]}(from_logits={bad})")
    o.refused(["from_logits"], got="loss")


# ========================================================================== family: model
# Model methods on random x / y / batch sizes / sample weights.

MODEL_TEMPLATES = {
    # name: (program with {T} {V} {K}, inputs [(kind, dtype)], outputs [(loss, units, name)],
    #        has attention, padding masked)
    "ids_cls": (
        "model = seqattn.Sequential([seqattn.Input(shape=({T},), dtype='int32'), "
        "layers.Embedding({V}, 4, mask_zero=True, name='probe_emb'), "
        "layers.MultiHeadAttention(2, 2, name='probe_mha'), layers.GlobalAveragePooling1D(), "
        "layers.Dense({K}, activation='softmax', name='probe_out')], name='probe_model')\n"
        "model.compile(loss='sparse_categorical_crossentropy', metrics=['accuracy'])",
        [("ids", "int32")], [("scce", "{K}", "probe_out")], True, True),
    "float_input_transformer": (
        "inp = seqattn.Input(shape=({T},))\n"
        "h = layers.TokenAndPositionEmbedding({V}, {T}, 4, mask_zero=True, name='probe_emb')(inp)\n"
        "h = layers.TransformerEncoder(8, 2, name='probe_te')(h)\n"
        "out = layers.Dense(1, activation='sigmoid', name='probe_out')(layers.GlobalMaxPooling1D()(h))\n"
        "model = seqattn.Model(inp, out, name='probe_model')\n"
        "model.compile(optimizer='adamw', loss='binary_crossentropy', metrics=['accuracy'])",
        [("ids", "float32")], [("bce", "1", "probe_out")], True, True),
    "features_logits": (
        "model = seqattn.Sequential([seqattn.Input(shape=({T}, 3)), layers.Dense(4, activation='gelu'), "
        "layers.LayerNormalization(), layers.Dropout(0.2), layers.Flatten(), "
        "layers.Dense({K}, name='probe_out')], name='probe_model')\n"
        "model.compile(optimizer='sgd', loss=seqattn.losses.SparseCategoricalCrossentropy(from_logits=True))",
        [("feats", 3)], [("scce_logits", "{K}", "probe_out")], False, False),
    "two_in_two_out": (
        "ids = seqattn.Input(shape=({T},), dtype='int32', name='probe_ids')\n"
        "feats = seqattn.Input(shape=({T}, 4), name='probe_feats')\n"
        "h = layers.Add()([layers.Embedding({V}, 4, mask_zero=True, name='probe_emb')(ids), "
        "layers.Dense(4, name='probe_dense')(feats)])\n"
        "h = layers.MultiHeadAttention(1, 4, name='probe_mha')(h)\n"
        "p = layers.GlobalAveragePooling1D()(h)\n"
        "model = seqattn.Model([ids, feats], [layers.Dense({K}, activation='softmax', name='probe_cls')(p), "
        "layers.Dense(1, activation='sigmoid', name='probe_bin')(p)], name='probe_model')\n"
        "model.compile(loss={{'probe_cls': 'sparse_categorical_crossentropy', "
        "'probe_bin': 'binary_crossentropy'}}, metrics=['accuracy'])",
        [("ids", "int32"), ("feats", 4)], [("scce", "{K}", "probe_cls"), ("bce", "1", "probe_bin")],
        True, True),
    "deferred_sequential": (
        "model = seqattn.Sequential([layers.Embedding({V}, 3, mask_zero=True, name='probe_emb'), "
        "layers.GlobalAveragePooling1D(), layers.Dense({K}, activation='softmax', name='probe_out')], "
        "name='probe_model')\n"
        "model.compile(loss='sparse_categorical_crossentropy')",
        [("ids", None)], [("scce", "{K}", "probe_out")], False, True),
}
MODEL_LAYER_NAMES = [MODEL_NAME, "probe_emb", "probe_mha", "probe_te", "probe_out", "probe_ids",
                     "probe_feats", "probe_dense", "probe_cls", "probe_bin"]


@st.composite
def model_cases(draw, templates=tuple(MODEL_TEMPLATES), id_dtypes=None, feat_dtypes=None):
    name = draw(st.sampled_from(templates))
    code, inputs, outputs, has_mha, masked = MODEL_TEMPLATES[name]
    B, T, V, K = (draw(st.integers(1, 5)), draw(st.integers(2, 5)), draw(st.integers(3, 12)),
                  draw(st.integers(2, 4)))
    seed = draw(st.integers(0, 999))
    g = f"rng = np.random.default_rng({seed})"
    data = [g]
    for i, (kind, _) in enumerate(inputs):
        if kind == "ids":
            dt = draw(st.sampled_from(id_dtypes or INT_DTYPES + ["float32", "float64"]))
            pad = draw(st.integers(0, T))
            data.append(f"x{i} = rng.integers(1, {V}, ({B}, {T}))")
            if pad:
                data.append(f"x{i}[:, {T - pad}:] = 0")
            data.append(f"x{i} = x{i}.astype('{dt}')")
        else:
            dt = draw(st.sampled_from(feat_dtypes or REAL_DTYPES))
            lo, hi = (-5, 5) if dt in INT_DTYPES else (-2.0, 2.0)
            data.append(array_code(f"x{i}", (B, T, inputs[i][1]), dt, seed + 10 + i, lo, hi))
    data.append("x = " + ("x0" if len(inputs) == 1 else "[" + ", ".join(
        f"x{i}" for i in range(len(inputs))) + "]"))
    for j, (loss, units, _) in enumerate(outputs):
        if loss.startswith("scce"):
            dt = draw(st.sampled_from(INT_DTYPES + ["float32", "float64"]))
            shape = draw(st.sampled_from([f"({B},)", f"({B}, 1)"]))
            data.append(f"y{j} = rng.integers(0, {K}, {shape}).astype('{dt}')")
        else:
            dt = draw(st.sampled_from(["float32", "float64", "int32", "uint8", "bool"]))
            soft = dt.startswith("float") and draw(st.booleans())
            shape = draw(st.sampled_from([f"({B},)", f"({B}, 1)"]))
            data.append(f"y{j} = rng.{'random' if soft else 'integers'}("
                        f"{'' if soft else '0, 2, '}{shape}).astype('{dt}')")
    if len(outputs) == 1:
        data.append("y = y0")
    elif draw(st.booleans()):
        data.append("y = {" + ", ".join(f"'{o[2]}': y{j}" for j, o in enumerate(outputs)) + "}")
    else:
        data.append("y = [" + ", ".join(f"y{j}" for j in range(len(outputs))) + "]")
    return dict(name=name, B=B, T=T, V=V, K=K, seed=seed, inputs=inputs, outputs=outputs,
                has_mha=has_mha, masked=masked, code=code.format(T=T, V=V, K=K),
                data="\n".join(data))


def per_template(what, examples, templates=tuple(MODEL_TEMPLATES), case_kwargs=None,
                 **strategies):
    """Registers one property per model template (so each template is exercised and one
    template's failure does not hide another's): <what>[<template>]."""
    def register(fn):
        for template in templates:
            prop("model", examples, name=f"{what}[{template}]")(
                given(case=model_cases(templates=(template,), **(case_kwargs or {})),
                      **strategies)(fn))
        return fn
    return register


def out_shapes(case):
    return [(case["B"], int(units.format(K=case["K"]))) for _, units, _ in case["outputs"]]


def as_list(out, case):
    return out if len(case["outputs"]) > 1 else [out]


def check_outputs(o, case, out, what):
    outs = as_list(out, case)
    shapes = out_shapes(case)
    if len(outs) != len(shapes):
        o.fail(WrongValue, f"{what}: {len(outs)} outputs, expected {len(shapes)}")
    for i, (a, shape) in enumerate(zip(outs, shapes)):
        if not isinstance(a, np.ndarray) or a.dtype != np.float32 or a.shape != shape:
            o.fail(WrongValue, f"{what}: output {i} is {summarize(a)}, expected float32 {shape}")
        if not np.isfinite(a).all():
            o.fail(WrongValue, f"{what}: output {i} is not finite: {summarize(a)}")


def check_scalars(o, value, what):
    values = value if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if not isinstance(v, (float, np.floating, int)) or not math.isfinite(float(v)):
            o.fail(WrongValue, f"{what} returned {summarize(value)}: expected finite floats")
    return [float(v) for v in values]


def close_lists(o, a, b, what, tol=1e-5):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or np.abs(a - b).max(initial=0) > tol * max(1.0, np.abs(b).max(initial=0)):
        o.fail(WrongValue, f"{what}: {a.tolist()} != {b.tolist()}")


def rows_code(case):
    if len(case["inputs"]) == 1:
        return "[x[b:b + 1] for b in range(len(x0))]"
    return "[[a[b:b + 1] for a in x] for b in range(len(x0))]"


BATCH_SIZES = ["None", "1", "2", "3", "len(x0)", "len(x0) + 5", "10**9"]


@per_template("model_predict_is_batch_invariant", 40, bs=st.sampled_from(BATCH_SIZES),
              x_form=st.sampled_from(["array", "array", "list"]))
def model_predict_is_batch_invariant(case, bs, x_form):
    """predict: float32 outputs of the announced shapes; row b equals predict on x[b:b+1]
    (within 1e-5, dropout off at inference), equals model(x) and predict_on_batch(x), and
    does not depend on batch_size; x as nested Python lists works like the arrays."""
    conv = ("x = x.tolist() if hasattr(x, 'tolist') else [a.tolist() for a in x]"
            if x_form == "list" else "")
    o = run_case(lines(case["code"], case["data"], conv),
                 f"out = model.predict(x, batch_size={bs}, verbose=0)\n"
                 f"rows = [model.predict(r, verbose=0) for r in {rows_code(case)}]\n"
                 "called = model(x)\non_batch = model.predict_on_batch(x)")
    o.ok()
    check_outputs(o, case, o["out"], "predict")
    out = as_list(o["out"], case)
    for b, row in enumerate(o["rows"]):
        for i, r in enumerate(as_list(row, case)):
            close_lists(o, r[0], out[i][b], f"output {i} row {b}: predict(x[b:b+1]) vs predict(x)")
    for what in ("called", "on_batch"):
        for i, r in enumerate(as_list(o[what], case)):
            close_lists(o, r, out[i], f"output {i}: {what} vs predict")
    for i, t in enumerate(o["model"].outputs):
        want = (case["B"],) + tuple(t.shape[1:])
        if out[i].shape != want:
            o.fail(WrongValue, f"output {i} has shape {out[i].shape}; the model says {t.shape}")


@per_template("model_evaluate_and_test_on_batch", 40, bs=st.sampled_from(BATCH_SIZES),
              y_form=st.sampled_from(["array", "list"]))
def model_evaluate_and_test_on_batch(case, bs, y_form):
    """evaluate returns finite numbers that do not depend on batch_size, equal test_on_batch on
    the whole batch, and y given as Python lists works exactly like arrays."""
    conv = ("y = y.tolist() if hasattr(y, 'tolist') else ({k: v.tolist() for k, v in y.items()} "
            "if isinstance(y, dict) else [v.tolist() for v in y])") if y_form == "list" else ""
    o = run_case(lines(case["code"], case["data"], "y_array = y", conv),
                 f"out = model.evaluate(x, y, batch_size={bs}, verbose=0)\n"
                 "whole = model.evaluate(x, y_array, batch_size=len(x0), verbose=0)\n"
                 "model.reset_metrics()\nbatch = model.test_on_batch(x, y)")
    o.ok()
    a = check_scalars(o, o["out"], "evaluate")
    b = check_scalars(o, o["whole"], "evaluate (one batch, y as arrays)")
    c = check_scalars(o, o["batch"], "test_on_batch")
    close_lists(o, a[:1], b[:1], "evaluate's loss at two batch sizes / y as list vs array", 1e-4)
    close_lists(o, c[:1], b[:1], "test_on_batch vs evaluate (loss)", 1e-4)


@per_template("model_fit_and_train_on_batch", 30, bs=st.sampled_from(BATCH_SIZES),
              y_form=st.sampled_from(["array", "list"]))
def model_fit_and_train_on_batch(case, bs, y_form):
    """fit (2 epochs, any batch size, y as arrays or lists) and train_on_batch run and report
    finite losses; the weights stay finite."""
    conv = ("y = y.tolist() if hasattr(y, 'tolist') else ({k: v.tolist() for k, v in y.items()} "
            "if isinstance(y, dict) else [v.tolist() for v in y])") if y_form == "list" else ""
    o = run_case(lines(case["code"], case["data"], conv),
                 f"hist = model.fit(x, y, batch_size={bs}, epochs=2, verbose=0)\n"
                 "out = model.train_on_batch(x, y)")
    o.ok()
    losses = o["hist"].history.get("loss")
    if not losses or len(losses) != 2 or not all(math.isfinite(v) for v in losses):
        o.fail(WrongValue, f"fit's history['loss'] is {losses!r}")
    check_scalars(o, o["out"], "train_on_batch")
    for i, w in enumerate(o["model"].get_weights()):
        if not np.isfinite(w).all():
            o.fail(WrongValue, f"weight {i} is not finite after training")


def model_python_lists_work_like_arrays(case, method, which):
    """x and/or y given as nested Python lists (one list per input/output for several) give
    exactly what the arrays give, in a fresh identical model (also a Sequential built from
    its first data)."""
    to_lists = []
    if which in ("x", "both"):
        to_lists.append("x_in = x.tolist() if hasattr(x, 'tolist') else [a.tolist() for a in x]")
    if which in ("y", "both"):
        to_lists.append("y_in = y.tolist() if hasattr(y, 'tolist') else ({k: v.tolist() for k, v "
                        "in y.items()} if isinstance(y, dict) else [v.tolist() for v in y])")
    call = {"predict": "{m}.predict({x}, verbose=0)",
            "evaluate": "{m}.evaluate({x}, {y}, verbose=0)",
            "fit": "{m}.fit({x}, {y}, epochs=2, shuffle=False, verbose=0).history['loss']"}[method]
    o = run_case(lines(case["code"], "model_a = model", "seqattn.utils.set_random_seed(0)",
                       case["code"], "model_l = model", case["data"], "x_in, y_in = x, y",
                       *to_lists),
                 # Reseeded: a Sequential without Input draws its weights at its first call.
                 f"seqattn.utils.set_random_seed(1)\n"
                 f"expected = {call.format(m='model_a', x='x', y='y')}\n"
                 f"seqattn.utils.set_random_seed(1)\n"
                 f"out = {call.format(m='model_l', x='x_in', y='y_in')}")
    o.ok()
    if method == "predict":
        for i, (a, b) in enumerate(zip(as_list(o["out"], case), as_list(o["expected"], case))):
            check_equal(o, a, b, f"prediction {i} from lists vs arrays")
    else:
        close_lists(o, check_scalars(o, o["out"], method), check_scalars(o, o["expected"], method),
                    f"{method} from lists vs arrays", 1e-6)


for _which, _methods in (("x", ["predict", "evaluate", "fit"]), ("y", ["evaluate", "fit"]),
                         ("both", ["evaluate", "fit"])):
    per_template(f"model_python_lists_work_like_arrays_{_which}", 15,
                 method=st.sampled_from(_methods), which=st.just(_which))(
        model_python_lists_work_like_arrays)


@prop("model", examples=90)
@given(case=model_cases(templates=("ids_cls", "float_input_transformer", "two_in_two_out")),
       bs=st.sampled_from(BATCH_SIZES))
def model_attention_scores(case, bs):
    """attention_scores: {layer name: (B, H, T, T)} probabilities; each row sums to 1, or is all
    zero for a padded query or an all-padding sample; padded keys get zero weight."""
    o = run_case(lines(case["code"], case["data"]), f"out = model.attention_scores(x, batch_size={bs})")
    o.ok()
    ids = np.asarray(o["x0"]).astype(np.int64)
    real = ids != 0  # (B, T)
    if not isinstance(o["out"], dict) or not o["out"]:
        o.fail(WrongValue, f"attention_scores returned {summarize(o['out'])}")
    for name, sc in o["out"].items():
        B, T = ids.shape
        if sc.ndim != 4 or sc.shape[0] != B or sc.shape[2:] != (T, T):
            o.fail(WrongValue, f"{name}: scores of shape {sc.shape}, expected (B, H, {T}, {T})")
        if not np.isfinite(sc).all() or (sc < 0).any():
            o.fail(WrongValue, f"{name}: scores not finite and non-negative")
        sums = sc.astype(np.float64).sum(-1)  # (B, H, T)
        want = np.where(real[:, None, :] & real.any(-1)[:, None, None], 1.0, 0.0)
        if np.abs(sums - want).max() > 1e-5:
            o.fail(WrongValue, f"{name}: row sums {sums.tolist()}, expected {want.tolist()}")
        if (sc * ~real[:, None, None, :]).any():
            o.fail(WrongValue, f"{name}: padded keys get nonzero attention")


@prop("model", examples=90)
@given(case=model_cases(templates=("ids_cls", "float_input_transformer", "two_in_two_out")),
       magnitude=st.sampled_from([1.0, 100.0, 1e6]))
def model_padding_does_not_matter(case, magnitude):
    """With mask_zero, the padding token's embedding (and, with two inputs, the features at
    padded steps) cannot change the predictions: the mask reaches attention and pooling."""
    change = [f"rng2 = np.random.default_rng({case['seed'] + 7})",
              "emb = model.get_layer('probe_emb')",
              "w = emb.get_weights()",
              f"w[0][0] = rng2.uniform(-{magnitude}, {magnitude}, w[0][0].shape)",
              "emb.set_weights(w)"]
    if len(case["inputs"]) == 2:
        change.append(f"x[1] = np.where((np.asarray(x0) != 0)[..., None], x1, "
                      f"rng2.uniform(-{magnitude}, {magnitude}, np.shape(x1)))")
    o = run_case(lines(case["code"], case["data"], "before = model.predict(x, verbose=0)", *change),
                 "out = model.predict(x, verbose=0)")
    o.ok()
    for i, (a, b) in enumerate(zip(as_list(o["out"], case), as_list(o["before"], case))):
        check_close(o, a, b, f"output {i} after changing padded steps", rtol=1e-6, atol=1e-6)


@per_template("model_save_load_round_trip", 20, train=st.booleans())
def model_save_load_round_trip(case, train):
    """save -> seqattn.load_model: bit-identical weights and predictions, the same config, and
    (compiled) the same evaluate result."""
    fit = "model.fit(x, y, epochs=1, verbose=0)" if train else "model.predict(x, verbose=0)"
    o = run_case(lines(case["code"], case["data"], fit, "import tempfile, os",
                       "path = os.path.join(tempfile.mkdtemp(), 'm.seqattn')"),
                 "model.save(path)\nloaded = seqattn.load_model(path)\n"
                 "p0, p1 = model.predict(x, verbose=0), loaded.predict(x, verbose=0)\n"
                 "e0 = model.evaluate(x, y, verbose=0)\ne1 = loaded.evaluate(x, y, verbose=0)")
    o.ok()
    for i, (a, b) in enumerate(zip(o["model"].get_weights(), o["loaded"].get_weights())):
        check_equal(o, b, a, f"weight {i} after load")
    for i, (a, b) in enumerate(zip(as_list(o["p0"], case), as_list(o["p1"], case))):
        check_equal(o, b, a, f"prediction {i} after load")
    if o["model"].get_config() != o["loaded"].get_config():
        o.fail(WrongValue, "get_config differs after load")
    close_lists(o, check_scalars(o, o["e1"], "evaluate after load"),
                check_scalars(o, o["e0"], "evaluate"), "evaluate after load", 1e-6)


@prop("model", examples=90)
@given(case=model_cases(templates=("features_logits",), feat_dtypes=["float32", "float64"]),
       data=st.data())
def model_nan_features_propagate(case, data):
    """NaN/inf in one sample's float features: that sample's prediction is non-finite, every
    other sample's prediction is unchanged."""
    b = data.draw(st.integers(0, case["B"] - 1), label="sample")
    value = data.draw(st.sampled_from(["nan", "inf"]), label="value")
    o = run_case(lines(case["code"], case["data"], "clean = model.predict(x, verbose=0)",
                       f"x0 = x0.copy(); x0[{b}, 0, 0] = {value}; x = x0"),
                 "out = model.predict(x, verbose=0)")
    o.ok()
    out, clean = o["out"], o["clean"]
    if np.isfinite(out[b]).any():
        o.fail(Propagation, f"sample {b} holds {value} but its prediction is {out[b].tolist()}")
    keep = np.arange(len(out)) != b
    check_close(o, out[keep], clean[keep], "the other samples' predictions", rtol=1e-6, atol=1e-6)


@prop("model", examples=120)
@given(T=st.integers(1, 5), heads=st.integers(1, 3), per_head=st.integers(1, 3),
       inter=st.integers(1, 8), normalize_first=st.booleans(), dropout=st.sampled_from([0.0, 0.3]),
       activation=st.sampled_from(ACTIVATIONS), B=st.integers(1, 3), seed=st.integers(0, 999),
       dtype=st.sampled_from(REAL_DTYPES), x_form=st.sampled_from(["array", "list"]))
def transformer_encoder_in_a_model(T, heads, per_head, inter, normalize_first, dropout, activation,
                                   B, seed, dtype, x_form):
    """TransformerEncoder in a model: (B, T, C) float32 outputs, finite; any real input dtype
    (or nested lists) predicts exactly like the float32 array; rows are independent of the
    batch (no dropout at inference)."""
    C = heads * per_head
    low, high = (-3, 3) if dtype in INT_DTYPES else (-2.0, 2.0)
    o = run_case(lines(f"inp = seqattn.Input(shape=({T}, {C}))",
                       f"te = layers.TransformerEncoder({inter}, {heads}, dropout={dropout}, "
                       f"activation={activation!r}, normalize_first={normalize_first}, name='probe_te')",
                       f"model = seqattn.Model(inp, te(inp), name='{MODEL_NAME}')",
                       array_code("x", (B, T, C), dtype, seed, low, high),
                       "xf = x.astype('float32')", "x = x.tolist()" if x_form == "list" else ""),
                 "out = model.predict(x, verbose=0)\nexpected = model.predict(xf, verbose=0)\n"
                 "rows = [model.predict(xf[b:b + 1], verbose=0) for b in range(len(xf))]")
    o.ok()
    check_equal(o, o["out"], o["expected"], f"prediction for {dtype} {x_form} vs float32 array")
    if o["out"].shape != (B, T, C) or not np.isfinite(o["out"]).all():
        o.fail(WrongValue, f"prediction {summarize(o['out'])}: expected finite ({B}, {T}, {C})")
    for b, row in enumerate(o["rows"]):
        close_lists(o, row[0], o["expected"][b], f"row {b}: predict(x[b:b+1]) vs predict(x)")


TE_BAD = {
    "width_not_divisible": ("inp = seqattn.Input(shape=(3, 5))", "out = te(inp)", (ValueError,)),
    "int32_input": ("inp = seqattn.Input(shape=(3, 4), dtype='int32')", "out = te(inp)",
                    (ValueError,)),
    "rank_2_input": ("inp = seqattn.Input(shape=(4,))", "out = te(inp)", (ValueError,)),
    "eager_array": ("x = np.ones((1, 3, 4), np.float32)", "out = te(x)", (TypeError,)),
    "called_again_on_another_width": ("inp = seqattn.Input(shape=(3, 4))\n_ = te(inp)",
                                      "out = te(seqattn.Input(shape=(3, 8)))", (ValueError,)),
    "call_kwargs": ("inp = seqattn.Input(shape=(3, 4))", "out = te(inp, training=True)",
                    (ValueError, TypeError)),
    "unbuilt_set_weights": ("", "te.set_weights([np.zeros(3)])", (ValueError,)),
}


@prop("model", examples=90)
@given(bad=st.sampled_from(sorted(TE_BAD)), heads=st.sampled_from([2, 4]))
def transformer_encoder_refusals(bad, heads):
    """TransformerEncoder: a width not divisible by num_heads, token ids, a rank-2 input, an
    eager call on an array, a later call (layer sharing) on another width, unknown call
    arguments, set_weights before it is
    built -> ValueError/TypeError naming the block."""
    setup, act, types = TE_BAD[bad]
    o = run_case(lines(f"te = layers.TransformerEncoder(8, {heads}, name='probe_te')", setup), act)
    o.refused(["probe_te"], types=types)


COMPILE_BAD = {
    "loss_unknown_name": ("loss='kl_divergence'", ["loss", "kl_divergence"]),
    "loss_empty_name": ("loss=''", ["loss"]),
    "loss_none": ("loss=None", ["loss"]),
    "loss_number": ("loss=3", ["loss"]),
    "loss_class_not_instance": ("loss=seqattn.losses.BinaryCrossentropy", ["loss"]),
    "loss_list_too_long": ("loss=['binary_crossentropy', 'binary_crossentropy']", ["loss"]),
    "loss_dict_unknown_output": ("loss={'nope': 'binary_crossentropy'}", ["loss", "nope"]),
    "optimizer_unknown": ("optimizer='adadelta', loss='binary_crossentropy'", ["optimizer",
                                                                               "adadelta"]),
    "optimizer_number": ("optimizer=3, loss='binary_crossentropy'", ["optimizer"]),
    "metrics_string": ("loss='binary_crossentropy', metrics='accuracy'", ["metrics"]),
    "metrics_unknown": ("loss='binary_crossentropy', metrics=['msle']", ["metric", "msle"]),
    "metrics_number": ("loss='binary_crossentropy', metrics=[3]", ["metric"]),
    "loss_weights_nan": ("loss='binary_crossentropy', loss_weights=float('nan')", ["loss_weights"]),
    "loss_weights_str": ("loss='binary_crossentropy', loss_weights='1'", ["loss_weights"]),
    "loss_weights_list_too_long": ("loss='binary_crossentropy', loss_weights=[1.0, 2.0]",
                                   ["loss_weights"]),
    "unknown_keyword": ("loss='binary_crossentropy', bogus=1", ["bogus"]),
}


@prop("model", examples=60)
@given(bad=st.sampled_from(sorted(COMPILE_BAD)), T=st.integers(1, 4))
def model_compile_refusals(bad, T):
    """compile with unknown or ill-typed losses, optimizers, metrics, loss weights or keywords
    -> ValueError/TypeError naming the argument (or the unknown name)."""
    args, names = COMPILE_BAD[bad]
    o = run_case(lines(f"inp = seqattn.Input(shape=({T},), dtype='int32')",
                       "out = layers.Dense(1, activation='sigmoid')(layers.GlobalAveragePooling1D()("
                       "layers.Embedding(5, 2)(inp)))",
                       f"model = seqattn.Model(inp, out, name='{MODEL_NAME}')"),
                 f"model.compile({args})")
    o.refused(names, got="model")


CALLS = {
    "fit": "model.fit(x, y, batch_size=bs, epochs=ep, sample_weight=sw, verbose=0)",
    "evaluate": "model.evaluate(x, y, batch_size=bs, sample_weight=sw, verbose=0)",
    "predict": "model.predict(x, batch_size=bs, verbose=0)",
    "train_on_batch": "model.train_on_batch(x, y, sample_weight=sw)",
    "test_on_batch": "model.test_on_batch(x, y, sample_weight=sw)",
    "predict_on_batch": "model.predict_on_batch(x)",
    "__call__": "model(x)",
    "attention_scores": "model.attention_scores(x, batch_size=bs)",
}
X_CALLS = list(CALLS)
Y_CALLS = ["fit", "evaluate", "train_on_batch", "test_on_batch"]
BS_CALLS = ["fit", "evaluate", "predict", "attention_scores"]


def _word(w):
    return re.compile(rf"(?<![\w.]){re.escape(w)}(?![\w])")


X_NAMES = MODEL_LAYER_NAMES + [_word("x"), "`x`"]
Y_NAMES = MODEL_LAYER_NAMES + [_word("y"), "`y`", "label", "Label", "target"]

#: name: (calls, templates (None: all), spoiling lines, names, TypeError only?, may work)
BAD_MODEL = {
    "x_str": (X_CALLS, None, "x0 = x0.astype(str)", X_NAMES, True, False),
    "x_object": (X_CALLS, None, "x0 = x0.astype(object)", X_NAMES, None, False),
    "x_complex": (X_CALLS, None, "x0 = x0.astype(complex)", X_NAMES, True, False),
    "x_rank_up": (X_CALLS, None, "x0 = x0[..., None]", X_NAMES, False, False),
    "x_rank_down": (X_CALLS, None, "x0 = x0[:, 0]", X_NAMES, False, False),
    "x_scalar": (X_CALLS, None, "x0 = x0[0, 0]", X_NAMES, False, False),
    "x_longer": (X_CALLS, ("ids_cls", "float_input_transformer", "features_logits",
                           "two_in_two_out"),
                 "x0 = np.concatenate([x0, x0[:, :1]], axis=1)", X_NAMES, False, False),
    "x_none": (X_CALLS, None, "x0 = None", X_NAMES, None, False),
    "x_ragged": (X_CALLS, None, "x0 = [list(r) for r in x0]; x0 = x0 * 2 if len(x0) == 1 else x0; "
                 "x0[0] = x0[0][:-1]", X_NAMES, False,
                 False),
    "x_empty": (X_CALLS, None, "x0 = x0[:0]\nif 'x1' in dir(): x1 = x1[:0]", X_NAMES, False, True),
    "ids_nan": (X_CALLS, ("ids_cls", "float_input_transformer", "two_in_two_out",
                          "deferred_sequential"),
                "x0 = x0.astype('float64'); x0[0, 0] = nan", X_NAMES, False, False),
    "ids_non_whole": (X_CALLS, ("ids_cls", "float_input_transformer", "two_in_two_out"),
                      "x0 = x0.astype('float32'); x0[-1, 0] = 1.5", X_NAMES, False, False),
    "ids_too_large": (X_CALLS, ("ids_cls", "float_input_transformer", "two_in_two_out",
                                "deferred_sequential"),
                      "x0 = x0.astype('int64'); x0[0, -1] = 10**6", X_NAMES, False, False),
    "ids_negative": (X_CALLS, ("ids_cls", "float_input_transformer", "two_in_two_out",
                               "deferred_sequential"),
                     "x0 = x0.astype('int64'); x0[0, 0] = -1", X_NAMES, False, False),
    "ids_wrap_int32": (X_CALLS, ("ids_cls", "float_input_transformer", "two_in_two_out",
                                 "deferred_sequential"),
                       "x0 = x0.astype('int64'); x0[0, 0] = 2**32 + 1", X_NAMES, False, False),
    "inputs_missing": (X_CALLS, ("two_in_two_out",), "x = [x0]", X_NAMES, False, False),
    "inputs_batch_mismatch": (X_CALLS, ("two_in_two_out",), "x1 = x1[:-1]", X_NAMES, False,
                              False),
    "x_dict_unknown_name": (X_CALLS, None, "x0 = {'no_such_input': x0}", X_NAMES, None, False),
    "y_nan": (Y_CALLS, None, "y0 = y0.astype('float64'); y0.flat[0] = nan", Y_NAMES, False, False),
    "y_inf": (Y_CALLS, None, "y0 = y0.astype('float64'); y0.flat[-1] = inf", Y_NAMES, False,
              False),
    "y_out_of_range": (Y_CALLS, None, "y0 = y0.astype('int64'); y0.flat[0] = 7", Y_NAMES, False,
                       False),
    "y_negative": (Y_CALLS, None, "y0 = y0.astype('int64'); y0.flat[0] = -1", Y_NAMES, False,
                   False),
    "y_non_whole": (Y_CALLS, ("ids_cls", "features_logits", "deferred_sequential"),
                    "y0 = y0.astype('float64'); y0.flat[0] = 0.5", Y_NAMES, False, False),
    "y_longer": (Y_CALLS, None, "y0 = np.concatenate([y0, y0[:1]])", Y_NAMES, False, False),
    "y_shorter": (Y_CALLS, None, "y0 = np.concatenate([y0, y0])[:len(y0) - 1] if len(y0) > 1 "
                  "else y0[:0]", Y_NAMES, False, False),
    "y_one_hot": (Y_CALLS, ("ids_cls", "features_logits", "deferred_sequential"),
                  "y0 = np.eye(__K__)[np.zeros(len(y0), int)]", Y_NAMES, False,
                  False),
    "y_two_columns": (Y_CALLS, ("float_input_transformer",),
                      "y0 = np.zeros((len(y0), 2))", Y_NAMES, False, False),
    "y_str": (Y_CALLS, None, "y0 = y0.astype(str)", Y_NAMES, True, False),
    "y_object": (Y_CALLS, None, "y0 = y0.astype(object)", Y_NAMES, None, False),
    "y_complex": (Y_CALLS, None, "y0 = y0.astype(complex)", Y_NAMES, True, False),
    "y_none": (Y_CALLS, None, "y0 = None", Y_NAMES, None, False),
    "y_ragged": (Y_CALLS, None, "y0 = [[0, 1]] + [[0]] * (len(y0) - 1) if len(y0) > 1 else "
                 "[[0, 1], [0]]", Y_NAMES, None, False),
    "y_missing_output": (Y_CALLS, ("two_in_two_out",), "y = [y0]", Y_NAMES, False, False),
    "y_unknown_output": (Y_CALLS, ("two_in_two_out",), "y = {'probe_cls': y0, 'nope': y1}",
                         Y_NAMES + ["nope"], False, False),
    "batch_size_zero": (BS_CALLS, None, "bs = 0", ["batch_size"], False, False),
    "batch_size_negative": (BS_CALLS, None, "bs = -3", ["batch_size"], False, False),
    "batch_size_float": (BS_CALLS, None, "bs = 2.5", ["batch_size"], False, False),
    "batch_size_bool": (BS_CALLS, None, "bs = True", ["batch_size"], False, False),
    "batch_size_str": (BS_CALLS, None, "bs = '4'", ["batch_size"], False, False),
    "batch_size_nan": (BS_CALLS, None, "bs = float('nan')", ["batch_size"], False, False),
    "batch_size_huge": (BS_CALLS, None, "bs = 2**64", ["batch_size"], False, True),
    "batch_size_numpy": (BS_CALLS, None, "bs = np.int64(2)", ["batch_size"], False, True),
    "sample_weight_negative": (Y_CALLS, None, "sw = np.ones(len(x0)); sw[0] = -1",
                               ["sample_weight"], False, False),
    "sample_weight_nan": (Y_CALLS, None, "sw = np.ones(len(x0)); sw[-1] = nan", ["sample_weight"],
                          False, False),
    "sample_weight_length": (Y_CALLS, None, "sw = np.ones(len(x0) + 1)", ["sample_weight"], False,
                             False),
    "sample_weight_str": (Y_CALLS, None, "sw = np.ones(len(x0)).astype(str)", ["sample_weight"],
                          True, False),
    "epochs_zero": (["fit"], None, "ep = 0", ["epochs"], False, False),
    "epochs_float": (["fit"], None, "ep = 1.5", ["epochs"], False, False),
    "epochs_bool": (["fit"], None, "ep = True", ["epochs"], False, False),
}


def _bad_model(kind):
    calls, templates, spoil, names, type_only, may_work = BAD_MODEL[kind]

    @prop("model", examples=36, name=f"model_bad_refused[{kind}]")
    @given(case=model_cases(templates=templates or tuple(MODEL_TEMPLATES)),
           call=st.sampled_from(calls))
    def test(case, call):
        """A bad argument -> ValueError/TypeError naming the argument, the model or one of its
        layers; a refused call changes no weight and the model still predicts as before."""
        if call == "attention_scores" and not case["has_mha"]:
            return
        spoil_ = spoil.replace("__K__", str(case["K"]))
        rebuild_x = ("x = x0" if len(case["inputs"]) == 1 else "x = [x0, x1]") \
            if not spoil.startswith("x = ") else ""
        rebuild_y = "" if len(case["outputs"]) == 1 or spoil.startswith("y = ") else \
            ("y = {k: (y0 if k == 'probe_cls' else y1) for k in y} if isinstance(y, dict) "
             "else [y0, y1]")
        if len(case["outputs"]) == 1 and not spoil.startswith("y = "):
            rebuild_y = "y = y0"
        warm = "" if case["name"] == "deferred_sequential" else \
            "before = model.get_weights()\npred0 = model.predict(x, verbose=0)"
        o = run_case(lines(case["code"], case["data"], "xv = x", warm, "bs, ep, sw = None, 1, None",
                           spoil_, rebuild_x, rebuild_y), f"out = {CALLS[call]}")
        model = o["model"]
        layer_names = [l.name for l in model.layers] if model.inputs is not None else []
        all_names = list(names) + layer_names if names in (X_NAMES, Y_NAMES) else names
        if may_work:
            if not o.ok_or_refused(all_names):
                return
        else:
            o.refused(all_names, types=(TypeError,) if type_only else (ValueError, TypeError))
        if warm and o.exc is not None:
            after = o["model"].get_weights()
            for i, (a, b) in enumerate(zip(after, o["before"])):
                if not np.array_equal(a, b):
                    o.fail(Silent, f"weight {i} changed although the call was refused")
            o2 = run_case(lines(case["code"], case["data"], "xv = x", warm,
                                "bs, ep, sw = None, 1, None", spoil_, rebuild_x, rebuild_y),
                          f"try:\n    {CALLS[call]}\nexcept (ValueError, TypeError):\n    pass\n"
                          "pred1 = model.predict(xv, verbose=0)")
            o2.ok()
            for i, (a, b) in enumerate(zip(as_list(o2["pred1"], case), as_list(o2["pred0"], case))):
                check_equal(o2, a, b, f"prediction {i} after a refused call")
    return test


for _kind in BAD_MODEL:
    _bad_model(_kind)


# ===================================================================== family: invariants
# Mathematical properties against independent oracles.


@prop("invariants", examples=240)
@given(shape=st.lists(st.integers(1, 6), min_size=2, max_size=4).map(tuple),
       seed=st.integers(0, 999), scale=st.sampled_from([1.0, 30.0, 1e3, 1e30]),
       neg_inf=st.booleans(), dtype=st.sampled_from(["float16", "float32", "float64"]))
def softmax_rows_sum_to_one(shape, seed, scale, neg_inf, dtype):
    """Activation('softmax') over the last axis: every value in [0, 1], rows sum to 1 within
    1e-5, equal to the float64 softmax within 1e-6 — for logits up to 1e30 and with -inf
    entries (their probability is 0) as long as a row has a finite entry."""
    if dtype == "float16":
        scale = min(scale, 1e4)
    cells = ""
    if neg_inf and shape[-1] > 1:
        cells = "x[..., 0] = -inf"
    o = run_case(lines(f"layer = layers.Activation('softmax', name='{LAYER_NAME}')",
                       array_code("x", shape, dtype, seed, -scale, scale), cells),
                 "out = layer(x)")
    o.ok()
    out = np.asarray(o["out"], np.float64)
    expected = R.softmax(np.asarray(o["x"], np.float32).astype(np.float64))
    check_close(o, out, expected, "softmax", rtol=0.0, atol=1e-6)
    if (out < 0).any() or (out > 1).any():
        o.fail(WrongValue, "softmax values outside [0, 1]")
    sums = out.sum(axis=-1)
    if np.abs(sums - 1).max() > 1e-5:
        o.fail(WrongValue, f"softmax rows sum to {sums.min()}..{sums.max()}")


@prop("invariants", examples=180)
@given(shape=st.lists(st.integers(1, 6), min_size=2, max_size=3).map(tuple),
       seed=st.integers(0, 999), shift=st.integers(-10**4, 10**4))
def softmax_is_shift_invariant(shape, seed, shift):
    """softmax(x + c) == softmax(x) for a per-row constant c (x on a grid of 1/8 so that x + c
    is exact in float32), within 1e-6; also through Dense(activation='softmax') with a bias
    shifted by c."""
    o = run_case(lines(f"layer = layers.Activation('softmax', name='{LAYER_NAME}')",
                       f"x = (np.random.default_rng({seed}).integers(-80, 80, {shape_text(shape)}) / 8)"
                       ".astype('float32')",
                       f"c = np.random.default_rng({seed + 1}).integers(-{abs(shift)}, {abs(shift)} + 1, "
                       f"{shape_text(shape[:-1] + (1,))}).astype('float32')"),
                 "out = layer(x)\nshifted = layer(x + c)")
    o.ok()
    check_close(o, o["shifted"], o["out"], "softmax(x + c) vs softmax(x)", rtol=0.0, atol=1e-6)


@prop("invariants", examples=300)
@given(activation=st.sampled_from(ACTIVATIONS), seed=st.integers(0, 999),
       shape=st.lists(st.integers(1, 5), min_size=2, max_size=3).map(tuple),
       scale=st.sampled_from([1.0, 10.0, 90.0, 1e4, 1e30]))
def activations_match_oracle(activation, seed, shape, scale):
    """Every activation (Activation layer and Dense's fused one) against its float64 formula,
    including large arguments (sigmoid/tanh saturate, exp never overflows to NaN)."""
    o = run_case(lines(f"layer = layers.Activation({activation!r}, name='{LAYER_NAME}')",
                       array_code("x", shape, "float32", seed, -scale, scale),
                       f"dense = layers.Dense(3, activation={activation!r})"),
                 "out = layer(x)\ndense_out = dense(x)")
    o.ok()
    x = np.asarray(o["x"], np.float64)
    check_close(o, o["out"], R.activation_forward(x, activation), f"Activation({activation!r})",
                rtol=1e-5, atol=1e-6)
    W = o["dense"].get_weights()
    z = x @ W[0].astype(np.float64) + W[1]
    if np.abs(z).max() < 1e6:  # float32 products of 1e30 are not comparable with float64
        check_close(o, o["dense_out"], R.activation_forward(z, activation),
                    f"Dense(activation={activation!r})")
        if activation == "softmax":
            sums = np.asarray(o["dense_out"], np.float64).sum(-1)
            if np.abs(sums - 1).max() > 1e-5:
                o.fail(WrongValue, f"Dense(softmax) rows sum to {sums.tolist()}")


@prop("invariants", examples=150)
@given(B=st.integers(1, 4), T=st.integers(1, 6), C=st.integers(1, 4), seed=st.integers(0, 999),
       mode=st.sampled_from(["average", "max"]))
def pooling_ignores_masked_steps(B, T, C, seed, mode):
    """Global pooling in a model with Embedding(mask_zero=True): the result equals pooling the
    real steps only (the oracle with the mask), whatever the padding vector is; an
    all-padding sample pools to 0."""
    layer = "GlobalAveragePooling1D" if mode == "average" else "GlobalMaxPooling1D"
    o = run_case(lines(f"inp = seqattn.Input(shape=({T},), dtype='int32')",
                       f"emb = layers.Embedding(6, {C}, mask_zero=True, name='probe_emb')",
                       f"model = seqattn.Model(inp, layers.{layer}()(emb(inp)), name='{MODEL_NAME}')",
                       f"ids = np.random.default_rng({seed}).integers(0, 6, ({B}, {T}))",
                       "ids[0] = 0",
                       "w = emb.get_weights()",
                       f"w[0][0] = 1e6 * np.random.default_rng({seed}).uniform(-1, 1, {C})",
                       "emb.set_weights(w)"),
                 "out = model.predict(ids, verbose=0)")
    o.ok()
    W = o["emb"].get_weights()[0].astype(np.float64)
    x = W[o["ids"]]
    mask = o["ids"] != 0
    ref = (R.global_average_pooling_forward(x, mask) if mode == "average"
           else R.global_max_pooling_forward(x, mask))
    check_close(o, o["out"], ref, f"{layer} with padding")


# ===================================================================== family: selftest
# Checks of the runner itself (tests/test_properties.py::test_harness_...).


@prop("selftest", examples=3)
@given(st.just(0))
def selftest_crash(_):
    run_case("import os, signal", "os.kill(os.getpid(), signal.SIGSEGV)")


@prop("selftest", examples=30)
@given(x=st.integers(0, 100))
def selftest_fail(x):
    o = run_case(f"x = {x}", "out = x")
    if o["out"] >= 3:
        o.fail(WrongValue, "x >= 3")


@prop("selftest", examples=3)
@given(st.just(0))
def selftest_pass(_):
    run_case("x = 1")


# =========================================================================== the runner


try:
    _ExceptionGroup = BaseExceptionGroup
except NameError:  # Python 3.10: hypothesis depends on the exceptiongroup backport
    from exceptiongroup import BaseExceptionGroup as _ExceptionGroup


def _describe_failure(e):
    """The report of one property's failure: each counterexample's message and program."""
    if isinstance(e, _ExceptionGroup):
        return "\n\n".join(_describe_failure(x) for x in e.exceptions)
    if isinstance(e, ContractViolation):
        return f"[{type(e).__name__}] {e}"
    # A bug in the property itself, or hypothesis refusing to run: keep the traceback.
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    return f"[error in the property: {type(e).__name__}]\n{text[-4000:]}"


def _limit_resources():
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        return  # ASan reserves terabytes of address space: a limit would kill every child
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _shorten_shrinking():
    try:
        from hypothesis.internal.conjecture import engine
        engine.MAX_SHRINKING_SECONDS = SHRINK_SECONDS
    except (ImportError, AttributeError):  # pragma: no cover - other hypothesis versions
        pass


def main(argv):
    import faulthandler
    faulthandler.enable()
    # Hypothesis's cache directory (default ./.hypothesis): outside the source tree.
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(
        tempfile.gettempdir(), "seqattn-property-hypothesis"))
    _limit_resources()
    _shorten_shrinking()
    import warnings
    warnings.simplefilter("ignore")  # Flatten's mask warning, ComplexWarning, ...
    if not argv:
        print("usage: property_cases.py FAMILY [PROPERTY ...]", file=sys.stderr)
        return 2
    family, names = argv[0], argv[1:] or family_properties(argv[0])
    for name in names:
        if PROPERTIES.get(name, (None,))[0] != family:
            print(f"no property {name!r} in family {family!r}", file=sys.stderr)
            return 2
    if not names:
        print(f"unknown family {family!r}", file=sys.stderr)
        return 2
    for name in names:
        _STATE["prop"] = name
        print(f"@@PROP {name}", flush=True)
        t0 = time.perf_counter()
        try:
            PROPERTIES[name][1]()
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001 - every failure is reported
            print(f"@@FAIL {name} {json.dumps(_describe_failure(e))}", flush=True)
        else:
            print(f"@@PASS {name} {time.perf_counter() - t0:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
