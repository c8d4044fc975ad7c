"""Small shared helpers for the z3 checks: results, proving by refutation, exact constants."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import z3

TIMEOUT_MS = 20_000
"""Per-query solver timeout: every query of the suite finishes in well under a second."""

Status = Literal["proved", "failed", "unknown"]


@dataclass
class CheckResult:
    """The outcome of one registry check.

    Attributes:
        check_id: the registry's check id (``real.*`` or ``f32.*``).
        ok: the check confirms what the registry records (proved, or the recorded float status).
        status: ``proved``/``failed``/``unknown`` for real checks; ``holds``/``counterexample``
            for float checks.
        details: one line per sub-query.
        seconds: wall time.
        counterexample: the counterexample found (float checks), as display strings.
    """

    check_id: str
    ok: bool
    status: str
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0
    counterexample: dict[str, str] | None = None


def q(value: Fraction | int) -> Any:
    """An exact z3 rational."""
    f = Fraction(value)
    return z3.Q(f.numerator, f.denominator)


def zabs(e: Any) -> Any:
    """``|e|`` for a z3 real expression."""
    return z3.If(e >= 0, e, -e)


def prove(claim: Any, hypotheses: Sequence[Any] = (), timeout_ms: int = TIMEOUT_MS) -> Status:
    """``proved`` iff ``hypotheses and not claim`` is unsat; ``failed`` if sat; else ``unknown``."""
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.add(*hypotheses)
    solver.add(z3.Not(claim))
    result = solver.check()
    if result == z3.unsat:
        return "proved"
    if result == z3.sat:
        return "failed"
    return "unknown"


def run_all(check_id: str, parts: Sequence[tuple[str, Callable[[], Status]]]) -> CheckResult:
    """Run named sub-proofs; the check is proved iff every part is."""
    start = time.perf_counter()
    details: list[str] = []
    overall: Status = "proved"
    for name, part in parts:
        status = part()
        details.append(f"{name}: {status}")
        if status != "proved" and overall == "proved":
            overall = status
    return CheckResult(check_id, overall == "proved", overall, details, time.perf_counter() - start)
