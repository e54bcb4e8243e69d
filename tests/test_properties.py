"""Property-based robustness suite (issue 13): random dtypes, shapes, ranks, values, NaN/inf
and sizes thrown at every public layer, every model method and every loss.

The cases live in tests/property_cases.py. Each test here runs ONE family of properties in
a child Python process (`sys.executable tests/property_cases.py FAMILY`), so a case that
crashes the interpreter (a segfault, an abort, the OOM killer, a hang) fails this test,
showing the last case printed, instead of taking pytest down. After a crash the family is
resumed in a fresh child from the next property, so one crash hides nothing else.

Each printed case is a complete program (paste it into `python` to reproduce). A failing
property reports its shrunk counterexample(s) with their programs. To run one property:
    python tests/property_cases.py features 'features_empty_axes[Dense]'
(the output protocol is described there). SEQATTN_PROPERTY_SCALE=4 runs four times as many
examples per property (the default keeps the file near a minute on 2 cores).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

pytest.importorskip("hypothesis")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import property_cases as cases  # noqa: E402

FAMILIES = ["ids", "features", "mha", "sizes", "weights", "losses", "model", "invariants"]
CHILD_TIMEOUT_S = 240  # a whole family; single cases have their own 20 s alarm
REPORT_CHARS = 3000  # per failing property


def _signal_name(returncode):
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _last_case(stdout):
    """The program of the last case printed (the one running when the child died)."""
    start = stdout.rfind("@@CASE ")
    if start < 0:
        return "(no case printed yet: it died between cases)"
    body = stdout[start:].split("\n", 1)[1] if "\n" in stdout[start:] else ""
    return body.split("@@RUN", 1)[0].rstrip()


def run_family(family, names=None, timeout=CHILD_TIMEOUT_S):
    """Runs a family's properties in child processes. Returns {property: (status, text)}
    with status PASS, FAIL or CRASH, and the seconds taken."""
    names = list(names or cases.family_properties(family))
    results = {}
    # Hypothesis keeps a cache in its storage directory: not in the source tree.
    storage = os.path.join(tempfile.gettempdir(), "seqattn-property-hypothesis")
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONFAULTHANDLER="1",
               HYPOTHESIS_STORAGE_DIRECTORY=storage)
    t0 = time.perf_counter()
    remaining = names
    while remaining:
        cmd = [sys.executable, os.path.join(HERE, "property_cases.py"), family, *remaining]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  env=env, cwd=HERE)
            stdout, stderr, rc = proc.stdout, proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as e:
            def text(b):
                return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
            stdout, stderr, rc = text(e.stdout), text(e.stderr), None
        started = None
        for line in stdout.splitlines():
            if line.startswith("@@PROP "):
                started = line.split(" ", 1)[1]
            elif line.startswith("@@PASS "):
                results[line.split(" ")[1]] = ("PASS", "")
            elif line.startswith("@@FAIL "):
                _, name, payload = line.split(" ", 2)
                results[name] = ("FAIL", json.loads(payload))
        if rc == 0 and all(n in results for n in remaining):
            break
        # The child died (or hung) while running `started`: report it, resume after it.
        how = ("hung: killed after the family's timeout" if rc is None else
               f"crashed: killed by {_signal_name(rc)}" if rc < 0 else
               f"exited with status {rc}")
        if rc == -signal.SIGALRM:
            how = f"hung: one case ran longer than {cases.CASE_TIMEOUT_S} s"
        if started is None or started in results:
            # Died outside any property (import error, bad arguments): report and stop.
            results["<child>"] = ("CRASH", f"{how}\n{stderr[-REPORT_CHARS:]}")
            break
        tail = stderr.strip()[-1500:]
        results[started] = ("CRASH", f"the interpreter {how} in this case:\n"
                                     f"{cases.PRELUDE}{_last_case(stdout)}\n"
                                     f"--- stderr (tail) ---\n{tail}")
        if rc is None:
            # A hang used the family's budget: do not start again; say what did not run.
            for n in remaining:
                results.setdefault(n, ("NOT RUN", "after the hang above"))
            break
        remaining = [n for n in remaining if n not in results]
    return results, time.perf_counter() - t0


def _report(family, results, seconds):
    bad = {n: r for n, r in results.items() if r[0] != "PASS"}
    lines = [f"{len(bad)} of {len(results)} properties of family '{family}' fail "
             f"({seconds:.1f} s):"]
    for name, (status, text) in bad.items():
        text = text if len(text) <= REPORT_CHARS else text[:REPORT_CHARS] + "\n[...]"
        lines.append(f"\n=== {status} {name}\n{text}")
    return "\n".join(lines)


@pytest.mark.parametrize("family", FAMILIES)
def test_property_family(family):
    results, seconds = run_family(family)
    assert results, f"family {family} ran no property"
    if any(status != "PASS" for status, _ in results.values()):
        pytest.fail(_report(family, results, seconds), pytrace=False)


def test_every_family_is_run():
    families = {family for family, _ in cases.PROPERTIES.values()} - {"selftest"}
    assert families == set(FAMILIES)


def test_harness_reports_crashes_failures_and_resumes():
    """The runner itself: a property that kills the interpreter is reported with its case,
    the family resumes after it, and an ordinary failure keeps its reproducer."""
    results, _ = run_family("selftest")
    assert results["selftest_crash"][0] == "CRASH"
    assert "SIGSEGV" in results["selftest_crash"][1]
    assert "os.kill(os.getpid(), signal.SIGSEGV)" in results["selftest_crash"][1]
    assert results["selftest_fail"][0] == "FAIL"
    assert "--- reproducer ---" in results["selftest_fail"][1]
    assert "x = 3" in results["selftest_fail"][1]  # shrunk to the smallest failing value
    assert results["selftest_pass"] == ("PASS", "")
