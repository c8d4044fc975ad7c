"""The SMT verdicts do not depend on machine load: rlimit, not wall clock (issue 12, point 6).

* No solver query sets a wall-clock ``timeout``; every query runs under an ``rlimit``.
* An undecided query is reported ``unknown`` (an ``UNKNOWN`` gap in ``steer spec``), never a
  verdict: shown by starving the searches and proofs of steps on purpose.
* The same checks, run once on an idle interpreter and once while busy-loop processes saturate
  every core, give identical statuses and identical details (which include the rlimit steps each
  search used), so neither load nor the order of checks in the process changes anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import z3

from steering_core.formal import _smt, matrix, smt_float32, smt_real
from steering_core.formal.registry import load_registry

REGISTRY = load_registry()
# The checks that flaked (P-safe-alpha, P-scale-covariance, P-additivity) and the rest of the float searches.
LOADED_IDS = ["P-safe-alpha", "P-scale-covariance", "P-additivity", "P-composition", "P-commutation", "P-zero-alpha"]


def _verdicts(ids: list[str]) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for pid in ids:
        prop = REGISTRY.get(pid)
        real = smt_real.run_check(prop.links["smt_real"])
        flt = smt_float32.run_check(prop.links["smt_float"], prop.float)
        out[pid] = (real.status, real.ok, tuple(real.details), flt.status, flt.ok, tuple(flt.details))
    return out


@pytest.fixture
def cpu_load() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Busy-loop processes, two per usable core, killed afterwards by their own ids."""
    n = 2 * len(os.sched_getaffinity(0))
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def test_verdicts_are_identical_under_cpu_load(cpu_load: list[subprocess.Popen[bytes]]) -> None:
    for proc in cpu_load:
        proc.send_signal(19)  # SIGSTOP: measure the idle run first
    try:
        idle = _verdicts(LOADED_IDS)
    finally:
        for proc in cpu_load:
            proc.send_signal(18)  # SIGCONT
    assert all(v[1] and v[4] for v in idle.values()), idle
    loaded = _verdicts(LOADED_IDS)
    assert all(p.poll() is None for p in cpu_load), "the load processes stopped early"
    assert loaded == idle


def test_no_query_has_a_wall_clock_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every solver query of every check is bounded by rlimit and by nothing that depends on time."""
    seen: list[dict[str, Any]] = []
    original_set, original_check = z3.Solver.set, z3.Solver.check

    def record_set(self: Any, *args: Any, **kwargs: Any) -> Any:
        params = self.__dict__.setdefault("_recorded", {})
        if len(args) == 2:
            params[str(args[0])] = args[1]
        params.update(kwargs)
        return original_set(self, *args, **kwargs)

    def record_check(self: Any, *args: Any) -> Any:
        seen.append(dict(self.__dict__.get("_recorded", {})))
        return original_check(self, *args)

    monkeypatch.setattr(z3.Solver, "set", record_set)
    monkeypatch.setattr(z3.Solver, "check", record_check)
    _verdicts([p.id for p in REGISTRY.properties])
    assert seen, "no solver query ran"
    assert not [p for p in seen if "timeout" in p], "a query has a wall-clock timeout"
    assert all(int(p.get("rlimit", 0)) > 0 for p in seen), "a query runs without an rlimit"


def test_a_starved_search_is_unknown_and_a_gap_never_a_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smt_float32, "SEARCH_RLIMIT", 2_000)
    prop = REGISTRY.get("P-additivity")
    result = smt_float32.run_check(prop.links["smt_float"], prop.float)
    assert (result.status, result.ok) == ("unknown", False), result.details
    assert any("max. resource limit exceeded" in d or "canceled" in d for d in result.details), result.details
    cell = matrix.smt_float_cell(prop, run=True)
    assert cell.gap and cell.text.startswith("UNKNOWN (") and "search" in cell.text


def test_a_starved_proof_is_unknown_and_a_gap_never_a_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_smt, "RLIMIT", 1)
    prop = REGISTRY.get("P-safe-alpha")
    real = smt_real.run_check(prop.links["smt_real"])
    assert (real.status, real.ok) == ("unknown", False), real.details
    cell = matrix.smt_real_cell(prop, run=True)
    assert cell.gap and cell.text.startswith("UNKNOWN (")
    flt = matrix.smt_float_cell(prop, run=True)  # its bound proofs starve too
    assert flt.gap and flt.text.startswith("UNKNOWN (")


def test_a_refuted_part_is_a_failure_not_unknown() -> None:
    """``unknown`` never hides a countermodel: one failed part fails the check."""
    parts = [("a", lambda: "unknown"), ("b", lambda: "failed"), ("c", lambda: "proved")]
    result = _smt.run_all("real.example", parts)  # type: ignore[arg-type]
    assert (result.status, result.ok) == ("failed", False)
