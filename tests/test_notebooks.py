"""Every notebook in notebooks/ runs top to bottom, headless, and draws the plots it calls.

Each notebook runs in a fresh Jupyter kernel through nbclient, as a person's "Run all" would:

- the kernel is THIS interpreter: a kernelspec pointing at sys.executable is written to a
  temporary folder and used by name, so a "python3" kernelspec installed elsewhere (for
  another Python, without seqattn) can never be picked up (checked by
  test_kernel_runs_this_interpreter);
- SEQATTN_NOTEBOOK_SMALL=1: each notebook that trains reads it in its first code cell and
  uses small data and few epochs (the four together take about 25 s on 2 cores);
- the working directory is notebooks/, as in Jupyter (04_imdb finds ../../shared/data there);
- MPLBACKEND is matplotlib's inline backend, the one Jupyter uses: it needs no display and
  turns every figure a cell shows into an image/png output. (MPLBACKEND=Agg would make a
  kernel show no figure at all, so the plots could not be checked.)

A failing cell fails the test with the notebook, the cell's index and source and the error.
A cell that calls a plotting function must have produced a PNG image (see `_plotting_cells`).
The committed files must have no outputs and no execution counts (generated notebooks are
stored clean; the executed copies stay in memory).
"""

from __future__ import annotations

import ast
import base64
import json
import re
import sys
import time
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT = 300          # seconds per cell; small-mode cells take a few seconds
KERNEL = "seqattn-tests"    # the kernelspec written by the `kernel` fixture
INLINE = "module://matplotlib_inline.backend_inline"

# Functions that draw: seqattn.plot's (a Figure as a cell's result is displayed) and
# pyplot's show(). A function defined in a notebook that calls one of these draws too.
PLOT_FUNCTIONS = {"plot_history", "plot_attention", "plot_token_importance"}
PYPLOT_SHOW = {"plt.show", "pyplot.show", "matplotlib.pyplot.show"}


def _require_extras():
    for name in ("nbformat", "nbclient", "ipykernel", "jupyter_client", "IPython",
                 "matplotlib", "matplotlib_inline"):
        pytest.importorskip(name, reason=f"the notebook tests need {name} "
                                          "(pip install '.[test]')")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """An AsyncKernelManager class (nbclient needs an async one for its timeouts) that
    finds only the kernelspec written here, which runs sys.executable."""
    _require_extras()
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    folder = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(folder / KERNEL, overrides={"display_name": "seqattn tests"})
    spec = json.loads((folder / KERNEL / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable, spec["argv"]

    class Manager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return KernelSpecManager(kernel_dirs=[str(folder)])

    return Manager


@pytest.fixture
def notebook_env(monkeypatch):
    """The kernel inherits the test process's environment."""
    monkeypatch.setenv("SEQATTN_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", INLINE)
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's frozen-module note


def _execute(nb, name, kernel):
    """Runs every cell; on an error, fails with the cell's index, source and the error."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    client = NotebookClient(nb, kernel_manager_class=kernel, kernel_name=KERNEL,
                            timeout=CELL_TIMEOUT,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()  # starts the kernel, runs every cell, shuts the kernel down
    except (CellExecutionError, CellTimeoutError) as error:
        index, cell = _failed_cell(nb, error)
        message = _strip_ansi(str(error))
        pytest.fail(f"{name}: cell {index} failed:\n{cell.source}\n\n{message}",
                    pytrace=False)


def _failed_cell(nb, error):
    """(index, cell) of the cell that failed: the one holding an error output, else (a
    timeout) the cell nbclient was running."""
    for index, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return index, cell
    source = getattr(error, "source", None) or ""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and source and cell.source.strip() in source:
            return index, cell
    last = max((i for i, c in enumerate(nb.cells)
                if c.cell_type == "code" and c.get("execution_count")), default=0)
    return last, nb.cells[last]


def _strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


# ------------------------------------------------------------------ which cells draw
def _python_source(source):
    """The cell as plain Python (IPython magics such as %matplotlib become calls)."""
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(source)


def _call_name(call):
    """Dotted name of the called function (`seqattn.plot.plot_history`), or ""."""
    parts, func = [], call.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def _draws(name, plotting):
    return name.split(".")[-1] in plotting or any(name.endswith(s) for s in PYPLOT_SHOW)


def _calls(node, top_level_only):
    """Call nodes under `node`; with top_level_only, not inside a def, lambda or class."""
    skip = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if top_level_only and isinstance(child, skip):
            continue
        if isinstance(child, ast.Call):
            yield child
        stack.extend(ast.iter_child_nodes(child))


def _plotting_cells(nb):
    """Indices of the code cells that call a plotting function at their top level.

    Plotting functions: PLOT_FUNCTIONS, pyplot's show(), and every function the notebook
    defines whose body calls one of them (in any earlier or the same cell).
    """
    plotting = set(PLOT_FUNCTIONS)
    indices = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(_python_source(cell.source))
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef,
                                                            ast.AsyncFunctionDef))]
        grew = True
        while grew:  # helpers that call helpers that draw
            grew = False
            for d in defs:
                if d.name not in plotting and any(_draws(_call_name(c), plotting)
                                                  for c in _calls(d, False)):
                    plotting.add(d.name)
                    grew = True
        if any(_draws(_call_name(c), plotting) for c in _calls(tree, True)):
            indices.append(index)
    return indices


def _png_images(cell):
    images = []
    for output in cell.get("outputs", []):
        if output.get("output_type") in ("display_data", "execute_result"):
            data = output.get("data", {}).get("image/png")
            if data:
                images.append(base64.b64decode(data))
    return images


def _local_imdb():
    """The IMDB folders 04_imdb looks in before it would download (its first cell)."""
    import os
    candidates = [NOTEBOOKS.parents[1] / "shared" / "data" / "imdb"]
    if os.environ.get("SEQATTN_DATA"):
        candidates.append(Path(os.environ["SEQATTN_DATA"]) / "imdb")
    return any(c.is_dir() and any(c.iterdir()) for c in candidates)


# ------------------------------------------------------------------------------ tests
def test_notebooks_exist():
    names = [p.name for p in PATHS]
    for expected in ("01_quickstart.ipynb", "02_attention_maps.ipynb", "04_imdb.ipynb"):
        assert expected in names, f"{expected} is missing from {NOTEBOOKS}"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_stored_clean(path):
    """Committed notebooks carry no outputs and no execution counts."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb.get("nbformat") == 4, f"{path.name}: not an nbformat 4 notebook"
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} have outputs or execution counts; "
                       "clear them before committing (Jupyter: Edit > Clear Outputs of All "
                       "Cells; or jupyter nbconvert --clear-output --inplace)")
    try:
        import nbformat
    except ImportError:
        return
    nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))


def _code_cells(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


TRAINING = [p for p in PATHS if any(".fit(" in source for source in _code_cells(p))]


@pytest.mark.parametrize("path", TRAINING, ids=[p.stem for p in TRAINING])
def test_notebook_reads_small_switch(path):
    """A notebook that trains reads SEQATTN_NOTEBOOK_SMALL, the switch to small data and few
    epochs that this suite sets, in its first code cell."""
    first = _code_cells(path)[0]
    assert "SEQATTN_NOTEBOOK_SMALL" in first, (
        f"{path.name}: the first code cell must read os.environ['SEQATTN_NOTEBOOK_SMALL'] "
        "(the test suite sets it to 1 for a quick run)")


@pytest.mark.slow
def test_kernel_runs_this_interpreter(kernel, notebook_env):
    """The notebooks' kernel is the interpreter running the tests, with the same seqattn."""
    from nbformat.v4 import new_code_cell, new_notebook

    import seqattn

    nb = new_notebook(cells=[new_code_cell(
        "import os, sys, seqattn, matplotlib\n"
        "print(sys.executable); print(seqattn.__file__); print(matplotlib.get_backend())\n"
        "print(os.getcwd()); print(os.environ['SEQATTN_NOTEBOOK_SMALL'])")])
    _execute(nb, "interpreter check", kernel)
    lines = "".join(o.get("text", "") for o in nb.cells[0].outputs).split("\n")
    assert lines[0] == sys.executable
    assert Path(lines[1]).resolve() == Path(seqattn.__file__).resolve()
    assert lines[2] == INLINE
    assert Path(lines[3]).resolve() == NOTEBOOKS.resolve()
    assert lines[4] == "1"


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs(path, kernel, notebook_env):
    """Runs the notebook in small mode; every cell that plots shows a PNG image."""
    import nbformat

    if path.stem == "04_imdb" and not _local_imdb():
        pytest.skip("04_imdb needs the IMDB reviews locally ($SEQATTN_DATA/imdb or "
                    "../shared/data/imdb beside the project); the suite never downloads")
    nb = nbformat.read(path, as_version=4)
    plotting = _plotting_cells(nb)
    start = time.perf_counter()
    _execute(nb, path.name, kernel)
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
    missing = [i for i in plotting if not _png_images(nb.cells[i])]
    assert not missing, "{}: cells that plot but show no image/png output:\n{}".format(
        path.name, "\n---\n".join(f"[{i}]\n{nb.cells[i].source}" for i in missing))
    for i in plotting:
        for png in _png_images(nb.cells[i]):
            assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000, \
                f"{path.name}: cell {i} has a broken or empty PNG"
