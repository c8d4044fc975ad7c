"""Shared helpers of the formal tests: Hypothesis settings, bit comparisons, guarded steering."""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, reject, settings

from steering_core import ops
from steering_core.errors import DtypeMismatchError, NonFiniteError

FORMAL = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
"""Deterministic (derandomized) and bounded, so CI runs are reproducible and fit the budget."""

EVAL_SLACK = 1.0 + 2.0**-20
"""Relative allowance for evaluating a proved bound (and the differences) in float64.

The bounds are proved exactly (rationals) in smt_float32; evaluating them here in float64 errs
by a few 2**-53 relative to magnitudes the bound itself scales with (>= 2**-24 of them)."""

INT_VIEW = {
    torch.float32: torch.int32,
    torch.float16: torch.int16,
    torch.bfloat16: torch.int16,
    torch.float64: torch.int64,
}


def bits(t: torch.Tensor) -> torch.Tensor:
    """The IEEE bit patterns of ``t`` (so -0.0 and +0.0 differ)."""
    return t.contiguous().view(INT_VIEW[t.dtype])


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(bits(a), bits(b))


def steer_or_reject(h: torch.Tensor, v: torch.Tensor, alpha: float) -> torch.Tensor:
    """``ops.steer_tensor`` when every intermediate is finite; otherwise the example is rejected
    (overflow is outside every law's premise: ops refuses an overflowing delta, and an overflowing
    sum is +-inf)."""
    try:
        out = ops.steer_tensor(h, v, alpha)
    except (DtypeMismatchError, NonFiniteError):
        reject()
    if not bool(torch.isfinite(out).all()):
        reject()
    return out


def f64(t: torch.Tensor) -> torch.Tensor:
    return t.to(torch.float64)


def assert_within(diff: torch.Tensor, bound: torch.Tensor, what: str) -> None:
    """``|diff| <= bound`` elementwise (with :data:`EVAL_SLACK`), with the worst entry in the message."""
    excess = diff.abs() - bound * EVAL_SLACK
    worst = int(torch.argmax(excess.flatten()))
    assert bool((excess <= 0).all()), (
        f"{what}: |diff| = {diff.abs().flatten()[worst].item()!r} > bound {bound.flatten()[worst].item()!r}"
    )
