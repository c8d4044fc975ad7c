"""Run the conformance properties on one backend; the table and the JSON record.

Order of work: the oracle copies the model *before* the backend serves anything; then each
property of the spec runs in file order. A property whose ``needs`` the backend lacks is
"unsupported" and is not run. A check that raises is "error". The run passes when no property
is "fail" or "error".
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from steering_core.conformance.backend import Backend
from steering_core.conformance.checks import CHECKS, Context, Fixture, Outcome
from steering_core.conformance.oracle import Oracle
from steering_core.conformance.spec import ConformanceSpec, load_spec
from steering_core.vector import SteeringVector

STATUSES: tuple[str, ...] = ("pass", "fail", "unsupported", "error")


@dataclass
class PropertyResult:
    """One row of the conformance table."""

    id: str
    title: str
    status: str
    figure: str
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class ConformanceReport:
    """Every property's result for one backend and model."""

    backend: str
    model: str
    capabilities: list[str]
    fixture: dict[str, Any]
    results: list[PropertyResult]
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """True when no property failed or raised (unsupported ones are not failures)."""
        return all(r.status in ("pass", "unsupported") for r in self.results)

    def counts(self) -> dict[str, int]:
        """How many properties ended in each status."""
        return {s: sum(r.status == s for r in self.results) for s in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (``steer report`` reads these)."""
        return {
            "schema": "steering-spec/conformance-v1",
            **asdict(self),
            "passed": self.passed,
            "counts": self.counts(),
        }

    def table(self) -> str:
        """A fixed-width table: property, status, measured figure."""
        width = max(len(r.id) for r in self.results)
        lines = [f"conformance: backend {self.backend}, model {self.model}", ""]
        lines.append(f"{'property':<{width}}  {'status':<11}  figure")
        for r in self.results:
            lines.append(f"{r.id:<{width}}  {r.status.upper():<11}  {r.figure}")
            if r.status in ("fail", "error"):
                lines.extend(f"{'':<{width}}    - {d}" for d in r.details[:5])
        c = self.counts()
        lines.append("")
        lines.append(
            f"{c['pass']} passed, {c['fail'] + c['error']} failed, {c['unsupported']} unsupported "
            f"({self.seconds:.1f} s)"
        )
        return "\n".join(lines)


def run_conformance(
    backend: Backend,
    model: Any,
    tokenizer: Any,
    vectors: Mapping[str, SteeringVector],
    fixture: Fixture,
    model_name: str = "",
    only: Sequence[str] | None = None,
    spec: ConformanceSpec | None = None,
    oracle: Oracle | None = None,
) -> ConformanceReport:
    """Check ``backend`` against every property (or those in ``only``).

    ``model`` and ``tokenizer`` are what the backend serves; the oracle copies ``model`` first
    (pass ``oracle`` to reuse one across backends of the same model). The vectors are registered
    with the backend here.
    """
    spec = spec or load_spec()
    chosen = [spec.get(pid) for pid in only] if only else list(spec.properties)
    oracle = oracle or Oracle(model, tokenizer, vectors)
    for name, vector in vectors.items():
        backend.add_vector(name, vector)
    ctx = Context(backend, oracle, fixture, spec.tie_margin, spec.max_ties)
    results: list[PropertyResult] = []
    start = time.perf_counter()
    for prop in chosen:
        missing = [need for need in prop.needs if need not in backend.capabilities]
        if missing:
            results.append(PropertyResult(prop.id, prop.title, "unsupported", f"needs {', '.join(missing)}"))
            continue
        began = time.perf_counter()
        try:
            outcome = CHECKS[prop.id](ctx)
        except Exception as error:  # a check that raises is an error row, never a crash of the kit
            outcome = Outcome("error", f"{type(error).__name__}: {error}")
        results.append(
            PropertyResult(
                prop.id, prop.title, outcome.status, outcome.figure, outcome.details, time.perf_counter() - began
            )
        )
    fx = asdict(fixture)
    return ConformanceReport(
        backend=backend.name,
        model=model_name,
        capabilities=sorted(backend.capabilities),
        fixture=fx,
        results=results,
        seconds=time.perf_counter() - start,
    )
