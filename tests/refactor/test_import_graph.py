"""The import graph of steering_core and contracts, read from the source (ast, nothing imported).

* no cycle between modules, counting every import (top-level and deferred inside functions);
* the library layer (steering_core's top-level modules and the runtime contracts) imports no
  tooling module (formal, cprr, behaviour, certify, report, plots, serve, conformance, execute,
  the CLI ...);
* no deferred import of a module the same file already imports at the top.

``python tests/refactor/import_graph.py [ROOT]`` prints the numbers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.refactor import import_graph as ig

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph() -> ig.Graph:
    return ig.build(ROOT)


def test_the_graph_covers_the_packages(graph: ig.Graph) -> None:
    assert {"steering_core", "steering_core.ops", "steering_core.cli", "contracts.api"} <= graph.modules
    assert len(graph.imports) > 100


# Cycles still open on this tree (none now), each through a deferred import, each with the
# change that removes it. A cycle not listed here fails the test; so does a listed one that is
# gone (delete it from this list then).
REMAINING_CYCLES: dict[tuple[str, ...], str] = {}


def test_no_import_cycles_beyond_the_listed_ones(graph: ig.Graph) -> None:
    found = {tuple(c) for c in ig.cycles(graph.edges(include_deferred=True))}
    assert found - set(REMAINING_CYCLES) == set(), "new import cycle(s)"
    assert set(REMAINING_CYCLES) - found == set(), "a listed cycle is gone: delete it from REMAINING_CYCLES"


def test_no_top_level_import_cycles(graph: ig.Graph) -> None:
    assert ig.cycles(graph.edges(include_deferred=False)) == []


def test_the_library_imports_no_tooling_module(graph: ig.Graph) -> None:
    found = sorted({f"{i.source} -> {i.target} (line {i.line})" for i in ig.layer_violations(graph)})
    assert found == []


def test_no_deferred_import_repeats_a_top_level_one(graph: ig.Graph) -> None:
    found = [f"{i.source} -> {i.target} (line {i.line})" for i in ig.redundant_deferred(graph)]
    assert found == []


def test_the_checker_sees_a_cycle_through_a_package_init(tmp_path: Path) -> None:
    """The rules themselves: a deferred import closing a loop, and the implicit package __init__ edge."""
    pkg = tmp_path / "steering_core"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from steering_core.a import f\n")
    (pkg / "a.py").write_text("import contracts.api\n\ndef f():\n    pass\n")
    (pkg / "b.py").write_text("def g():\n    from steering_core.c import h\n")
    (pkg / "c.py").write_text("from steering_core import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "x.py").write_text("from steering_core.sub import y\n")
    (pkg / "sub" / "y.py").write_text("from steering_core.sub import x\n")
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "__init__.py").write_text("")
    (tmp_path / "contracts" / "api.py").write_text("from steering_core.errors import E\n")
    (pkg / "errors.py").write_text("E = 1\n")
    graph = ig.build(tmp_path)
    top = ig.cycles(graph.edges(include_deferred=False))
    every = ig.cycles(graph.edges(include_deferred=True))
    # contracts.api -> steering_core.errors runs steering_core/__init__ -> a -> contracts.api
    assert ["contracts.api", "steering_core", "steering_core.a"] in top
    assert ["steering_core.b", "steering_core.c"] not in top and ["steering_core.b", "steering_core.c"] in every
    assert ["steering_core.sub.x", "steering_core.sub.y"] in top


# Single deferred imports still awaiting a reason or a move to the top (none now).
PENDING_IMPORTS: set[tuple[str, str]] = set()


def test_every_deferred_import_says_why(graph: ig.Graph) -> None:
    """A deferred import buys start-up time and says so (``# deferred: ...``), or its module gives
    one reason for all (``# deferred imports: ...``, the command-line modules)."""
    found = [
        f"{i.source} -> {i.target} (line {i.line})"
        for i in ig.unexplained_deferred(ROOT, graph)
        if (i.source, i.target) not in PENDING_IMPORTS
    ]
    assert found == []
