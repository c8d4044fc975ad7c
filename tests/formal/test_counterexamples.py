"""The registry's recorded float counterexamples reproduce, bit for bit, in the torch implementation.

The SMT float checks replay them as ground IEEE-754 terms (z3); this file replays them through
``steering_core.ops`` on real tensors, so the z3 model and the implementation are tied together.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
import torch

from steering_core import ops
from steering_core.formal.registry import load_registry
from tests.formal._helpers import same_bits

REGISTRY = load_registry()
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}


def _vec(cex: dict[str, Any], name: str) -> torch.Tensor:
    raw = cex["inputs"][name]
    values = [float.fromhex(x) for x in (raw if isinstance(raw, list) else [raw])]
    return torch.tensor(values, dtype=torch.float64).to(DTYPES[cex["dtype"]])


def _x(cex: dict[str, Any], name: str) -> float:
    return float.fromhex(cex["inputs"][name])


def _hex(t: torch.Tensor) -> str:
    return ",".join(float.hex(float(x)) for x in t.to(torch.float64).tolist())


def _naive_normalize(v: torch.Tensor) -> torch.Tensor:
    """ops.normalize without the fixpoint rule (what the naive counterexample refutes)."""
    v64 = v.to(torch.float64)
    _, exponent = torch.frexp(v64.abs().max())
    scaled = torch.ldexp(v64, -exponent)
    return (scaled / torch.linalg.vector_norm(scaled)).to(v.dtype)


def _unit(c: dict[str, Any]) -> dict[str, str]:
    y = ops.normalize(_vec(c, "v"))
    s = sum((Fraction(x) ** 2 for x in y.to(torch.float64).tolist()), Fraction(0))
    return {"y": _hex(y), "norm_sq": f"{s.numerator}/{s.denominator}"}


def _step(c: dict[str, Any]) -> dict[str, str]:
    return {"out": _hex(ops.steer_tensor(_vec(c, "h"), _vec(c, "v"), _x(c, "alpha")))}


def _alpha_max(c: dict[str, Any]) -> dict[str, str]:
    return {"alpha_max": float.hex(ops.safe_alpha_max(_x(c, "rho"), _x(c, "norm_v"), _x(c, "norm_h")))}


def _zero(c: dict[str, Any]) -> dict[str, str]:
    h, v = _vec(c, "h"), _vec(c, "v")
    out = ops.steer_tensor(h, v, 0.0)
    assert out is h and same_bits(out, h)  # the implementation keeps -0.0
    naive = h + v.to(torch.float32) * torch.tensor(0.0)
    return {"naive": _hex(naive)}


def _additivity(c: dict[str, Any]) -> dict[str, str]:
    h, v, a, b = _vec(c, "h"), _vec(c, "v"), _x(c, "a"), _x(c, "b")
    return {"lhs": _hex(ops.steer_tensor(ops.steer_tensor(h, v, a), v, b)), "rhs": _hex(ops.steer_tensor(h, v, a + b))}


def _composition(c: dict[str, Any]) -> dict[str, str]:
    h, u, w, a = _vec(c, "h"), _vec(c, "u"), _vec(c, "w"), _x(c, "alpha")
    return {"lhs": _hex(ops.steer_tensor(ops.steer_tensor(h, u, a), w, a)), "rhs": _hex(ops.steer_tensor(h, u + w, a))}


def _commutation(c: dict[str, Any]) -> dict[str, str]:
    h, u, w, a, b = _vec(c, "h"), _vec(c, "u"), _vec(c, "w"), _x(c, "a"), _x(c, "b")
    return {
        "lhs": _hex(ops.steer_tensor(ops.steer_tensor(h, u, a), w, b)),
        "rhs": _hex(ops.steer_tensor(ops.steer_tensor(h, w, b), u, a)),
    }


def _scale(c: dict[str, Any]) -> dict[str, str]:
    h, v, k, a = _vec(c, "h"), _vec(c, "v"), _x(c, "c"), _x(c, "alpha")
    scaled = (v.to(torch.float64) * k).to(v.dtype)
    return {"lhs": _hex(ops.steer_tensor(h, scaled, a)), "rhs": _hex(ops.steer_tensor(h, v, k * a))}


def _idempotent(c: dict[str, Any]) -> dict[str, str]:
    v = _vec(c, "v")
    once = _naive_normalize(v)
    assert same_bits(ops.normalize(v), once)
    assert same_bits(ops.normalize(ops.normalize(v)), ops.normalize(v))  # the fixpoint rule
    return {"once": _hex(once), "twice_naive": _hex(_naive_normalize(once))}


def _ratio_scale(c: dict[str, Any]) -> dict[str, str]:
    a, nv, nh, k = _x(c, "alpha"), _x(c, "norm_v"), _x(c, "norm_h"), _x(c, "c")
    return {
        "ratio": float.hex(ops.perturbation_ratio(a, nv, nh)),
        "ratio_scaled": float.hex(ops.perturbation_ratio(a, k * nv, k * nh)),
    }


REPLAYS: dict[str, Callable[[dict[str, Any]], dict[str, str]]] = {
    "P-unit-sphere": _unit,
    "P-safe-alpha": _step,
    "P-perturbation-ratio": _step,
    "P-alpha-max": _alpha_max,
    "P-zero-alpha": _zero,
    "P-additivity": _additivity,
    "P-composition": _composition,
    "P-commutation": _commutation,
    "P-scale-covariance": _scale,
    "P-normalize-idempotent": _idempotent,
    "P-ratio-scale-invariance": _ratio_scale,
}

RECORDED = [
    (p.id, key) for p in REGISTRY.properties for key in ("counterexample", "naive_counterexample") if key in p.float
]


def test_every_recorded_counterexample_has_a_replay() -> None:
    assert {pid for pid, _ in RECORDED} == set(REPLAYS)


@pytest.mark.parametrize(("property_id", "key"), RECORDED, ids=[pid for pid, _ in RECORDED])
def test_recorded_counterexample_reproduces_in_torch(property_id: str, key: str) -> None:
    cex = REGISTRY.get(property_id).float[key]
    observed = REPLAYS[property_id](cex)
    assert observed == dict(cex["observed"]), (observed, cex["observed"])
