"""Small shared helpers for the z3 checks: results, deterministic solving, exact constants.

Determinism. Every query is solved under a z3 *resource limit* (``rlimit``: a count of the
solver's internal steps), never a wall-clock timeout, and in a *fresh* :class:`z3.Context`
in which the query is rebuilt from its SMT-LIB 2 text. z3 is deterministic for a given query, context state and
parameters, so the outcome (and the resource count it used) is the same on an idle machine,
a loaded one or a slow one, and does not depend on which other checks ran before in the same
process (measured: the same float search used 7.3M steps in a fresh context and 53M after
the other checks in the shared global context, and its wall time varied 1-12 s).

What ``unknown`` means: z3 answered neither sat nor unsat for one query, either because the
query used up its ``rlimit`` budget (reason ``max. resource limit exceeded`` / ``canceled``)
or because the theory is incomplete (nonlinear real arithmetic). It is a property of the
query and the z3 version, not of the machine, and it is never turned into a verdict: the
check reports ``unknown`` with z3's reason, and the matrix shows it as an ``UNKNOWN`` gap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

import z3

RLIMIT = 50_000_000
"""Default per-query resource limit (z3 ``rlimit`` steps). The proofs of the suite use at most
about 3.7M steps each (measured with z3 5.4.1), so the budget leaves a 13x margin."""

Status = Literal["proved", "failed", "unknown"]
SatResult = Literal["sat", "unsat", "unknown"]


@dataclass
class Solved:
    """The outcome of one query: z3's answer, the steps it used, and (if sat) a model.

    ``model`` and ``context`` belong to the fresh context the query was solved in; evaluate a
    term of the caller's context with :meth:`value`.
    """

    result: SatResult
    steps: int
    reason: str = ""
    model: Any = None
    context: Any = None

    def value(self, term: Any) -> Any:
        """The model's value of ``term`` (with model completion), as a term of ``term``'s own context.

        (Some z3 helpers, e.g. ``fpToIEEEBV``, build in the main context whatever their argument's
        context: a value must never be handed to them from the fresh context.)
        """
        value = self.model.eval(term.translate(self.context), model_completion=True)
        return value.translate(term.ctx)

    def describe(self) -> str:
        """``sat``/``unsat`` or ``unknown (<z3's reason>)``, with the steps used."""
        why = f" ({self.reason})" if self.result == "unknown" else ""
        return f"{self.result}{why} [{self.steps} rlimit steps]"


def _steps(solver: Any) -> int:
    stats = solver.statistics()
    keys = list(stats.keys())
    return int(stats.get_key_value("rlimit count")) if "rlimit count" in keys else 0


def _in_fresh_context(formulas: Sequence[Any], ctx: Any) -> Any:
    """``formulas`` rebuilt in ``ctx`` from their SMT-LIB 2 text.

    Not ``translate``: a translated term keeps the shape of the source context's internal ids
    (which depend on every term built before in the process), and z3's search follows them; the
    text depends only on the formulas, so the rebuilt query, its steps and its model are the same
    whatever ran before (measured: models differed between two identical searches in one process
    with ``translate``, and were identical through the text).
    """
    source = z3.Solver()
    source.add(*formulas)
    return z3.parse_smt2_string(source.to_smt2(), ctx=ctx)


def solve(
    formulas: Sequence[Any], rlimit: int | None = None, tactics: Sequence[str] | None = None, want_model: bool = False
) -> Solved:
    """Check the conjunction of ``formulas`` in a fresh context under ``rlimit`` (deterministic).

    ``tactics``: a z3 tactic pipeline (e.g. ``("simplify", "fpa2bv", "bit-blast", "sat")``)
    instead of the default solver; ``rlimit`` None means :data:`RLIMIT` (read at call time). No
    wall-clock limit is set.
    """
    rlimit = RLIMIT if rlimit is None else rlimit
    ctx = z3.Context()
    if tactics:
        tactic = z3.Tactic(tactics[0], ctx=ctx)
        for name in tactics[1:]:
            tactic = z3.Then(tactic, z3.Tactic(name, ctx=ctx))
        solver = tactic.solver()
    else:
        solver = z3.Solver(ctx=ctx)
    solver.set("rlimit", int(rlimit))
    solver.add(_in_fresh_context(formulas, ctx))
    answer = solver.check()
    steps = _steps(solver)
    if answer == z3.sat:
        return Solved("sat", steps, model=solver.model() if want_model else None, context=ctx)
    if answer == z3.unsat:
        return Solved("unsat", steps)
    return Solved("unknown", steps, reason=solver.reason_unknown() or "no reason given")


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


def prove(
    claim: Any, hypotheses: Sequence[Any] = (), rlimit: int | None = None, tactics: Sequence[str] | None = None
) -> Status:
    """``proved`` iff ``hypotheses and not claim`` is unsat; ``failed`` if sat (a countermodel);
    ``unknown`` if z3 gives up within ``rlimit`` (see the module docstring). Deterministic."""
    result = solve([*hypotheses, z3.Not(claim)], rlimit, tactics).result
    return "proved" if result == "unsat" else ("failed" if result == "sat" else "unknown")


def run_all(check_id: str, parts: Sequence[tuple[str, Callable[[], Status]]]) -> CheckResult:
    """Run named sub-proofs: ``proved`` iff every part is; ``failed`` if any part has a
    countermodel; otherwise ``unknown`` (some part undecided within its rlimit)."""
    start = time.perf_counter()
    details: list[str] = []
    statuses: list[Status] = []
    for name, part in parts:
        status = part()
        statuses.append(status)
        details.append(f"{name}: {status}")
    overall: Status = "failed" if "failed" in statuses else ("unknown" if "unknown" in statuses else "proved")
    return CheckResult(check_id, overall == "proved", overall, details, time.perf_counter() - start)
