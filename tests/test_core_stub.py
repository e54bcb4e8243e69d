"""python/seqattn/_core.pyi describes the C++ module exactly: every class, function and public
member of seqattn._core has its line in the stub, and the stub names nothing that is gone
(constructors and operators are checked by the tests that call them)."""

from __future__ import annotations

import ast
from pathlib import Path

from seqattn import _core

STUB = Path(__file__).resolve().parents[1] / "python" / "seqattn" / "_core.pyi"


def _stub_names():
    tree = ast.parse(STUB.read_text())
    names = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = {n.target.id if isinstance(n, ast.AnnAssign) else n.name
                                for n in node.body
                                if isinstance(n, (ast.FunctionDef, ast.AnnAssign))
                                and not (n.target.id if isinstance(n, ast.AnnAssign)
                                         else n.name).startswith("_")}
        elif isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            names[node.name] = None
    return names


def _module_names():
    names = {}
    for name in dir(_core):
        if name.startswith("_"):
            continue
        obj = getattr(_core, name)
        if isinstance(obj, type):
            own = {m for m in vars(obj) if not m.startswith("_")}
            names[name] = own
        else:
            names[name] = None
    return names


def test_stub_lists_every_binding_and_nothing_else():
    stub, module = _stub_names(), _module_names()
    assert set(stub) == set(module), (sorted(set(module) - set(stub)),
                                      sorted(set(stub) - set(module)))
    for name, members in module.items():
        if members is None:
            continue
        assert members == stub[name], (name, sorted(members - stub[name]),
                                       sorted(stub[name] - members))
