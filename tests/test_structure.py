"""The shape of the code: every module imports, no import cycles, sizes with a reason.

Walks every module of onnxstat/ and op_handlers/ (whatever packages they are in):

* each one imports on its own;
* the graph of module-level imports between them (``import``/``from ... import`` at the
  top level of a module, including under ``if``/``try``, but not inside functions, where
  an import is deferred on purpose) has no cycle;
* a module over 600 lines says why in its first 10 lines (``# size: <reason>``);
* a function over 80 lines says why at its top: ``size: <reason>`` in its docstring or in
  a comment on its first lines.

``KNOWN_CYCLES``, ``KNOWN_LONG_MODULES`` and ``KNOWN_LONG_FUNCTIONS`` list what was there
when these checks were written: debt to pay back, not a place to add to (remove an entry
once its module or function is split or says why).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("onnxstat", "op_handlers")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

#: cycles present when the check was written, each as the sorted tuple of its modules
KNOWN_CYCLES: set[tuple[str, ...]] = set()

#: modules over the limit that do not yet say why they are long
KNOWN_LONG_MODULES: set[str] = set()

#: (module, function qualname): long functions that do not yet say why
KNOWN_LONG_FUNCTIONS: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _top_level_imports(tree: ast.Module):
    """Import nodes executed when the module is imported (not inside a function or class body
    of a function; ``if TYPE_CHECKING:`` blocks are skipped: they never run)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            test = node.test
            if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                    isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
                stack.extend(node.orelse)
            else:
                stack.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            stack.extend(node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body])
        elif isinstance(node, (ast.With, ast.ClassDef)):
            stack.extend(node.body)


def _targets(name: str, node) -> set[str]:
    """Modules of ours that one import statement in module ``name`` loads."""
    found = set()
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.name in MODULES:
                found.add(a.name)
        return found
    if node.level:
        base = name.split(".") if _is_package(name) else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        mod = ".".join(base + ([node.module] if node.module else []))
    else:
        mod = node.module or ""
    if mod in MODULES:
        found.add(mod)
    for a in node.names:
        sub = f"{mod}.{a.name}"
        if sub in MODULES:
            found.add(sub)
    return found


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = set()
        for node in _top_level_imports(tree):
            edges |= _targets(name, node)
        edges.discard(name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Strongly connected components with more than one module (Tarjan), each sorted.

    A package's ``__init__`` importing its own submodules (``op_handlers`` importing its
    families, which import ``op_handlers.base``) is how packages work, not a cycle between
    modules: edges from a module to a package that contains it are left out."""
    def contains(pkg: str, mod: str) -> bool:
        return pkg in MODULES and _is_package(pkg) and mod.startswith(pkg + ".")

    g = {m: {t for t in ts if not contains(t, m)} for m, ts in graph.items()}
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(tuple(sorted(comp)))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(out)


def _has_reason(lines: list[str]) -> bool:
    return any("size:" in line for line in lines)


def long_modules() -> list[tuple[str, int]]:
    out = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > MAX_MODULE_LINES and not any(line.lstrip().startswith("# size:") for line in lines[:10]):
            out.append((name, len(lines)))
    return out


def long_functions() -> list[tuple[str, str, int]]:
    out = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)

        def walk(node, prefix):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    qual = f"{prefix}{child.name}"
                    n = child.end_lineno - child.lineno + 1
                    doc = ast.get_docstring(child) or ""
                    body_start = child.body[0].lineno
                    head = lines[body_start - 1: body_start + 2]
                    if n > MAX_FUNCTION_LINES and "size:" not in doc and not _has_reason(
                            [h for h in head if h.lstrip().startswith("#")]):
                        out.append((name, qual, n))
                    walk(child, qual + ".")
                elif isinstance(child, ast.ClassDef):
                    walk(child, f"{prefix}{child.name}.")
        walk(tree, "")
    return out


@pytest.mark.parametrize("name", sorted(m for m in MODULES if not m.endswith(".__main__")))  # __main__ runs the CLI
def test_every_module_imports(name):
    importlib.import_module(name)


def test_no_import_cycles():
    found = cycles(import_graph())
    new = [c for c in found if c not in KNOWN_CYCLES]
    assert not new, "import cycles between modules (module-level imports): " + "; ".join(" <-> ".join(c) for c in new)


def test_modules_over_600_lines_say_why():
    found = long_modules()
    new = [f"{m} ({n} lines)" for m, n in found if m not in KNOWN_LONG_MODULES]
    assert not new, f"modules over {MAX_MODULE_LINES} lines without '# size: <reason>' in their first 10 lines: {new}"


def test_functions_over_80_lines_say_why():
    found = long_functions()
    new = [f"{m}.{f} ({n} lines)" for m, f, n in found if (m, f) not in KNOWN_LONG_FUNCTIONS]
    assert not new, f"functions over {MAX_FUNCTION_LINES} lines without 'size: <reason>' at their top: {new}"


def test_the_checks_can_fail():
    # a cycle of three and a module-level self-import are found; a function-level import is not an edge
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert cycles(g) == [("a", "b", "c")]
    tree = ast.parse("import os\ndef f():\n    from . import x\nif TYPE_CHECKING:\n    import y\n"
                     "try:\n    import z\nexcept ImportError:\n    pass\n")
    assert sorted(type(n).__name__ + ":" + (n.names[0].name) for n in _top_level_imports(tree)) == ["Import:os", "Import:z"]
