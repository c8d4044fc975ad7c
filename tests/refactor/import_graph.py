"""The internal import graph of ``steering_core`` and ``contracts``, built from the source with :mod:`ast`.

Nothing is imported: the graph is read from the files, so it also works on another checkout
(``python tests/refactor/import_graph.py /path/to/checkout`` prints the numbers).

Rules (what an edge ``a -> b`` means: executing ``a`` may execute ``b``'s top level):

* ``import x.y.z`` / ``from x.y import z``: an edge to the imported module (``x.y.z`` if it is a
  module, else ``x.y``, when ``z`` is a name defined in ``x.y``).
* Importing ``x.y.z`` also runs the ``__init__`` of its packages ``x`` and ``x.y``: an edge to each,
  unless the package is an ancestor of the importer (it is then already initialising).
* ``from pkg import name`` where ``name`` is not a submodule reads an attribute of ``pkg``, so it
  is an edge to ``pkg`` even when ``pkg`` is the importer's own package; when ``pkg`` exports
  ``name`` lazily (an ``_EXPORTS`` table, :mod:`steering_core.lazy`), the edge goes to the
  module that defines it.
* An import is *top-level* when no ``def`` encloses it (module level, class bodies, ``if``/``try``
  at module level); *deferred* when a function body encloses it. Imports under
  ``if TYPE_CHECKING:`` never run and are left out of the graph (counted separately).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("steering_core", "contracts")

# The library layer is what a user imports: the package itself, its top-level modules (models,
# layers, prompts, extract, vector, ops, steer, fold, generate, diagnose, sweep, errors, bounds,
# atomic, ...) and the runtime contracts it enforces (contracts.api). The tooling layer sits on
# top: every subpackage (formal, cprr, behaviour, certify, report, plots, serve, conformance,
# execute, relational, vllm), the command line and the test tooling below.
TOOLING_MODULES = frozenset(
    {
        "steering_core.cli",
        "steering_core.cli_options",
        "steering_core.strategies",  # Hypothesis strategies for the property tests
        "contracts.style",  # the behavioural style contracts (steering_core.behaviour)
    }
)
LIBRARY_CONTRACTS = frozenset({"contracts", "contracts._errors", "contracts.api"})


def is_library(module: str, packages: frozenset[str] | set[str]) -> bool:
    """Whether ``module`` belongs to the library layer (see above); ``packages``: the package names."""
    if module in TOOLING_MODULES:
        return False
    if module in LIBRARY_CONTRACTS or module == "steering_core":
        return True
    parts = module.split(".")
    return len(parts) == 2 and parts[0] == "steering_core" and module not in packages


@dataclass(frozen=True)
class Import:
    """One resolved internal import: ``source`` imports ``target`` at ``line``."""

    source: str
    target: str
    line: int
    deferred: bool
    implicit: bool  # a parent package's __init__ run by importing one of its submodules


@dataclass
class Graph:
    """Modules found, and every internal import (statement x target)."""

    modules: set[str] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)
    imports: list[Import] = field(default_factory=list)
    type_checking_only: int = 0

    def edges(self, *, include_deferred: bool) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {m: set() for m in self.modules}
        for imp in self.imports:
            if imp.deferred and not include_deferred:
                continue
            if imp.source != imp.target:
                out[imp.source].add(imp.target)
        return out

    def explicit(self) -> list[Import]:
        return [i for i in self.imports if not i.implicit]


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def source_files(root: Path) -> Iterator[Path]:
    for package in PACKAGES:
        base = root / package
        if base.is_dir():
            yield from sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, in_def: bool, in_tc: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, in_def, in_tc
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _walk(child, True, in_tc)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), in_def, True)
            for stmt in child.orelse:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), in_def, in_tc)
        else:
            yield from _walk(child, in_def, in_tc)


def _internal(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def _package_of(module: str, is_package: bool) -> str:
    return module if is_package else module.rpartition(".")[0]


def lazy_exports(path: Path) -> dict[str, str]:
    """The ``_EXPORTS = {name: module}`` literal of a package ``__init__`` (see :mod:`steering_core.lazy`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "_EXPORTS" and isinstance(node.value, ast.Dict):
            return {
                k.value: v.value
                for k, v in zip(node.value.keys, node.value.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
            }
    return {}


def build(root: Path) -> Graph:
    """Parse every module under ``root``'s packages and resolve its internal imports."""
    root = Path(root)
    files = {module_name(root, p): p for p in source_files(root)}
    graph = Graph(modules=set(files), packages={m for m, p in files.items() if p.name == "__init__.py"})
    lazy = {m: lazy_exports(p) for m, p in files.items() if p.name == "__init__.py"}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        ancestors = {".".join(module.split(".")[:k]) for k in range(1, module.count(".") + 1)}
        if is_package:
            ancestors.add(module)
        for node, deferred, tc in _walk(tree, False, False):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    pkg = _package_of(module, is_package).split(".")
                    pkg = pkg[: len(pkg) - (node.level - 1)]
                    base = ".".join(pkg + ([base] if base else []))
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    # a name a package exports lazily (PEP 562) is loaded from its module on access
                    targets.append(sub if sub in files else lazy.get(base, {}).get(alias.name, base))
            for target in dict.fromkeys(t for t in targets if _internal(t)):
                # an imported name that is a module we know, or its closest known parent
                resolved = target
                while resolved not in files and "." in resolved:
                    resolved = resolved.rpartition(".")[0]
                if resolved not in files:
                    continue
                if tc:
                    graph.type_checking_only += 1
                    continue
                graph.imports.append(Import(module, resolved, node.lineno, deferred, False))
                parts = resolved.split(".")
                for k in range(1, len(parts)):
                    parent = ".".join(parts[:k])
                    if parent in files and parent not in ancestors:
                        graph.imports.append(Import(module, parent, node.lineno, deferred, True))
    return graph


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in edges:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return sorted(out)


def redundant_deferred(graph: Graph) -> list[Import]:
    """Deferred imports of a module the same file already imports at the top."""
    top = {(i.source, i.target) for i in graph.explicit() if not i.deferred}
    return [i for i in graph.explicit() if i.deferred and (i.source, i.target) in top]


def layer_violations(graph: Graph) -> list[Import]:
    """Imports (top-level or deferred) from a library module to a tooling module."""
    return [
        i for i in graph.imports if is_library(i.source, graph.packages) and not is_library(i.target, graph.packages)
    ]


MODULE_REASON = "# deferred imports:"
"""A module-wide reason for the deferred imports of a module (e.g. every command handler of a CLI)."""


def unexplained_deferred(root: Path, graph: Graph) -> list[Import]:
    """Deferred imports with no reason given: no ``deferred`` comment on the import line or in the
    comment lines right above it, and no module-wide ``# deferred imports:`` comment."""
    root = Path(root)
    texts = {module_name(root, p): p.read_text(encoding="utf-8").splitlines() for p in source_files(root)}
    out: list[Import] = []
    for imp in graph.explicit():
        if not imp.deferred:
            continue
        lines = texts[imp.source]
        if any(line.startswith(MODULE_REASON) for line in lines):
            continue
        k = imp.line - 1
        if "deferred" in lines[k]:
            continue
        k -= 1
        explained = False
        while k >= 0 and lines[k].strip().startswith(("#", "from ", "import ")):
            if lines[k].strip().startswith("#") and "deferred" in lines[k]:
                explained = True
                break
            k -= 1
        if not explained:
            out.append(imp)
    return out


def summary(root: Path) -> dict[str, object]:
    graph = build(root)
    explicit = graph.explicit()
    top_cycles = cycles(graph.edges(include_deferred=False))
    all_cycles = cycles(graph.edges(include_deferred=True))
    return {
        "modules": len(graph.modules),
        "internal_imports": len(explicit),
        "internal_import_statements": len({(i.source, i.line) for i in explicit}),
        "deferred_import_statements": len({(i.source, i.line) for i in explicit if i.deferred}),
        "deferred_imports": sum(i.deferred for i in explicit),
        "redundant_deferred": len(redundant_deferred(graph)),
        "unexplained_deferred": len(unexplained_deferred(root, graph)),
        "type_checking_only": graph.type_checking_only,
        "cycles_top_level": top_cycles,
        "cycles_all": all_cycles,
        "layer_violations": sorted({(i.source, i.target) for i in layer_violations(graph)}),
    }


def _print(items: Iterable[object]) -> None:
    for item in items:
        print(f"    {item}")


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2]
    s = summary(root)
    print(f"root: {root}")
    for key in (
        "modules",
        "internal_imports",
        "deferred_imports",
        "internal_import_statements",
        "deferred_import_statements",
        "redundant_deferred",
        "unexplained_deferred",
        "type_checking_only",
    ):
        print(f"{key}: {s[key]}")
    for key in ("cycles_top_level", "cycles_all", "layer_violations"):
        items = s[key]
        assert isinstance(items, list)
        print(f"{key}: {len(items)}")
        _print(items)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
