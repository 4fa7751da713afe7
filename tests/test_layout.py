"""The layering, checked by parsing every import (lazy ones in functions too) with ``ast``:

* arrows point down: cli (``harness/cli``, ``benchmarks/perf`` scripts) -> reports -> methods ->
  benchmarks -> core (the rest of ``harness/``); nothing imports a layer above its own;
* ``_`` means private: a ``_module`` is imported only from inside the package that holds it, and a
  ``_name`` of a module only by that module;
* no import cycle between modules (imports under ``if TYPE_CHECKING:`` are annotations and do not run);
* the registries' packages hold registered things only: every public top-level module of
  ``methods/``, ``benchmarks/`` and ``harness/executors/`` registers one (their parts live in
  subpackages and private modules), so discovery needs no special case.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "benchmarks", "methods", "reports")
RANKS = {"core": 0, "benchmarks": 1, "methods": 2, "reports": 3, "cli": 4}


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    top = module.split(".")[0]
    if top == "harness":
        return "cli" if module.startswith(("harness.cli", "harness.__main__")) else "core"
    if module.startswith("benchmarks.perf"):
        return "cli"  # scripts at the top, like the commands
    return top


def sources(root: Path) -> dict[str, Path]:
    """Module name -> file, for every .py file of the four packages."""
    return {module_name(root, f): f for top in PACKAGES if (root / top).is_dir()
            for f in sorted((root / top).rglob("*.py"))}


def _typing_only(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:``."""
    return {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and isinstance(block.test, ast.Name)
            and block.test.id == "TYPE_CHECKING" for stmt in block.body for n in ast.walk(stmt)}


def imports(module: str, path: Path, known: dict[str, Path]) -> list[tuple[str, str | None, int, bool]]:
    """(imported module, imported private attribute or None, line, runs) of every project import in a
    file; ``runs`` is False for imports under ``if TYPE_CHECKING:``."""
    out: list[tuple[str, str | None, int, bool]] = []
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = _typing_only(tree)
    for node in ast.walk(tree):
        runs = id(node) not in typing_only
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno, runs) for a in node.names if a.name.split(".")[0] in PACKAGES]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                src = ".".join(base + ([node.module] if node.module else []))
            else:
                src = node.module or ""
            if src.split(".")[0] not in PACKAGES:
                continue
            for a in node.names:
                full = f"{src}.{a.name}"
                if full in known:  # a submodule
                    out.append((full, None, node.lineno, runs))
                else:
                    out.append((src, a.name if a.name.startswith("_") and not a.name.startswith("__") else None,
                                node.lineno, runs))
    return out


def private_owner(target: str) -> str | None:
    """The package a ``_module`` in ``target`` is private to (the innermost one), or None."""
    parts = target.split(".")
    owner = None
    for i, p in enumerate(parts):
        if p.startswith("_") and not p.startswith("__"):
            owner = ".".join(parts[:i])
    return owner


def inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        x = stack.pop()
                        on.discard(x)
                        comp.append(x)
                        if x == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
            elif w not in index:
                index[w] = low[w] = counter
                counter += 1
                stack.append(w)
                on.add(w)
                work.append((w, iter(sorted(graph.get(w, ())))))
            elif w in on:
                low[v] = min(low[v], index[w])
    return out


def violations(root: Path) -> list[str]:
    known = sources(root)
    bad: list[str] = []
    graph: dict[str, set[str]] = {m: set() for m in known}
    for mod, path in known.items():
        where = path.relative_to(root)
        for target, private_attr, line, runs in imports(mod, path, known):
            if RANKS[layer(target)] > RANKS[layer(mod)]:
                bad.append(f"{where}:{line}: {layer(mod)} imports {target} ({layer(target)}, a layer above)")
            owner = private_owner(target)
            if owner is not None and not inside(mod, owner):
                bad.append(f"{where}:{line}: imports {target}, private to {owner}")
            if private_attr and mod != target:
                bad.append(f"{where}:{line}: imports {private_attr} from {target}, private to that module")
            if runs and target in graph and target != mod:
                graph[mod].add(target)
    return sorted(set(bad)) + [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]


def test_the_repository_keeps_the_layering() -> None:
    bad = violations(REPO)
    assert not bad, "\n".join(bad)


def test_the_checker_sees_each_kind_of_violation(tmp_path: Path) -> None:
    files = {
        "harness/__init__.py": "",
        "harness/core.py": "from reports.tables import x\n",                        # core -> reports: up
        "benchmarks/__init__.py": "",
        "benchmarks/spaces/__init__.py": "",
        "benchmarks/spaces/_codec.py": "",
        "benchmarks/task.py": "def f():\n    from methods.m import g\n",             # lazy, still up
        "methods/__init__.py": "",
        "methods/m.py": "from benchmarks.spaces import _codec\nfrom methods.n import _helper\nimport methods.n\n",
        "methods/n.py": "import methods.m\n_helper = 1\n",                             # m <-> n: a cycle
        "methods/o.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import methods.p\n",
        "methods/p.py": "import methods.o\n",                                        # o -> p for types only
        "reports/__init__.py": "",
        "reports/tables.py": "from harness.cli.compare import run\n",                 # reports -> cli: up
        "harness/cli/__init__.py": "",
        "harness/cli/compare.py": "from benchmarks.spaces._codec import c\nfrom methods.m import g\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    bad = "\n".join(violations(tmp_path))
    assert "harness/core.py:1: core imports reports.tables" in bad
    assert "benchmarks/task.py:2: benchmarks imports methods.m" in bad
    assert "reports/tables.py:1: reports imports harness.cli.compare" in bad
    assert "methods/m.py:1: imports benchmarks.spaces._codec, private to benchmarks.spaces" in bad
    assert "harness/cli/compare.py:1: imports benchmarks.spaces._codec, private to benchmarks.spaces" in bad
    assert "methods/m.py:2: imports _helper from methods.n, private to that module" in bad
    assert "import cycle: methods.m -> methods.n" in bad and "methods.o" not in bad
    assert "harness/cli/compare.py:2" not in bad  # the CLI may import any public module


def test_registry_packages_hold_registered_things_only() -> None:
    code = """
import importlib, pkgutil
from harness.registry import BENCHMARKS, EXECUTORS, METHODS
for reg in (METHODS, BENCHMARKS, EXECUTORS):
    owners = {getattr(reg.get(n), '__module__', None) for n in reg.names()}
    pkg = importlib.import_module(reg.package)
    public = {f'{reg.package}.{i.name}' for i in pkgutil.iter_modules(pkg.__path__)
              if not i.name.startswith('_') and not i.ispkg}
    assert public == owners, (reg.kind, sorted(public ^ owners))
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
