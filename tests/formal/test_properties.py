"""Hypothesis property tests: every registry property against the torch implementation.

Each law is tested in float32, float16 and bfloat16 with the strategies of
:mod:`steering_core.strategies` (zero, subnormal, tiny, moderate and huge entries), against
the *float* statement recorded in ``steering_core/data/properties.toml``: bit-exact where the float status is
``holds``, within the proved bound (:mod:`steering_core.formal.bounds`) where it is
``counterexample``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from steering_core import ops
from steering_core.errors import ZeroVectorError
from steering_core.formal import bounds
from steering_core.formal.bounds import (
    additivity_bound,
    commutation_bound,
    composition_bound,
    float64_slack,
    scale_bound,
    steer_rounding,
    step_bound,
    step_norm_slack,
    unit_norm_tolerance,
)
from steering_core.strategies import DTYPES, alphas, positive_scales, residuals, scales, vectors, widths
from tests.formal._helpers import EVAL_SLACK, FORMAL, assert_within, f64, same_bits, steer_or_reject

DTYPE = pytest.mark.parametrize("dtype", DTYPES, ids=[str(d).removeprefix("torch.") for d in DTYPES])
U64 = float(bounds.FORMATS["float64"].u)
ETA64 = bounds.FORMATS["float64"].eta


def _h_v(dtype: torch.dtype, n_vectors: int = 1) -> st.SearchStrategy[tuple[torch.Tensor, ...]]:
    """A residual (rows, d) and ``n_vectors`` directions of width d, all in ``dtype``."""
    return widths(1, 6).flatmap(
        lambda d: st.tuples(residuals(dtype, d), *[vectors(dtype, d) for _ in range(n_vectors)])
    )


# --------------------------------------------------------------------------- normalisation


@DTYPE
@FORMAL
@given(data=st.data())
def test_unit_sphere(dtype: torch.dtype, data: st.DataObject) -> None:
    """P-unit-sphere: |‖normalize(v)‖ - 1| <= unit_norm_tolerance, entries close to v/‖v‖."""
    v = data.draw(vectors(dtype, nonzero=True))
    y = ops.normalize(v)
    d = v.numel()
    tol = unit_norm_tolerance(dtype, d)
    assert y.dtype == dtype and y.shape == v.shape
    norm = float(torch.linalg.vector_norm(f64(y)))
    assert abs(norm - 1.0) <= tol, (norm, tol)
    v64 = f64(v)
    x = v64 / v64.abs().max()
    x = x / torch.linalg.vector_norm(x)
    eta = float(bounds.format_of(dtype).eta)
    assert_within(f64(y) - x, 2 * tol * x.abs() + eta, "direction")


@DTYPE
@FORMAL
@given(data=st.data())
def test_normalize_zero_is_an_error(dtype: torch.dtype, data: st.DataObject) -> None:
    """P-normalize-zero: every all-(+/-)0 vector is refused with ZeroVectorError."""
    v = data.draw(vectors(dtype, kinds=("zero",)))
    with pytest.raises(ZeroVectorError):
        ops.normalize(v)


@DTYPE
@FORMAL
@given(data=st.data())
def test_normalize_is_idempotent(dtype: torch.dtype, data: st.DataObject) -> None:
    """P-normalize-idempotent: bit-exact (fixpoint rule)."""
    v = data.draw(vectors(dtype, nonzero=True))
    once = ops.normalize(v)
    assert same_bits(ops.normalize(once), once)


# --------------------------------------------------------------------------- step size


@DTYPE
@FORMAL
@given(data=st.data())
def test_safe_alpha(dtype: torch.dtype, data: st.DataObject) -> None:
    """P-safe-alpha: the realised step obeys the per-coordinate step bound, and with
    rho = |a|‖v‖/‖h‖ (the tightest premise) ‖steer - h‖ <= (rho(1 + 4uhat) + uhat)‖h‖ + slack."""
    h, v = data.draw(_h_v(dtype))
    a = data.draw(alphas())
    out = steer_or_reject(h, v, a)
    r = steer_rounding(dtype)
    step = f64(out) - f64(h)
    av = abs(a) * f64(v).abs()
    assert_within(step - a * f64(v), step_bound(r, f64(h).abs(), av, f64(v).abs()), "step")
    d = v.numel()
    norm_v = ops.vector_norm(v)
    for row in range(h.shape[0]):
        norm_h = ops.vector_norm(h[row])
        assume(norm_h > 0)
        rho = abs(a) * norm_v / norm_h
        realised = float(torch.linalg.vector_norm(step[row]))
        allowed = rho * norm_h + step_norm_slack(dtype, abs(a) * norm_v, norm_h, norm_v, d)
        assert realised <= allowed * EVAL_SLACK + 8 * float64_slack(d) * (realised + norm_h), (realised, allowed)


@DTYPE
@FORMAL
@given(
    rho=st.floats(0, 4),
    norm_h=st.floats(2.0**-60, 2.0**60),
    norm_v=st.floats(2.0**-60, 2.0**60),
    data=st.data(),
)
def test_alpha_max(dtype: torch.dtype, rho: float, norm_h: float, norm_v: float, data: st.DataObject) -> None:
    """P-alpha-max: safe_alpha_max is within K_ALPHA_MAX ulps of rho‖h‖/‖v‖ (float64), and
    steering with it keeps the realised step within the safe-alpha bound."""
    computed = ops.safe_alpha_max(rho, norm_v, norm_h)
    exact = Fraction(rho) * Fraction(norm_h) / Fraction(norm_v)
    assert abs(Fraction(computed) - exact) <= bounds.quotient_bound(exact, Fraction(norm_v))
    h, v = data.draw(_h_v(dtype))
    nv, nh = ops.vector_norm(v), ops.vector_norm(h[0])
    assume(nv > 0 and nh > 0)
    a = ops.safe_alpha_max(rho, nv, nh)
    assume(a <= 8.0)
    out = steer_or_reject(h[:1], v, a)
    realised = float(torch.linalg.vector_norm(f64(out[0]) - f64(h[0])))
    d = v.numel()
    exact_step = Fraction(a) * Fraction(nv)
    u64 = bounds.FORMATS["float64"].u
    assert exact_step <= Fraction(rho) * Fraction(nh) * (1 + bounds.K_ALPHA_MAX * u64) + 2 * ETA64 * (1 + Fraction(nv))
    allowed = float(exact_step) + step_norm_slack(dtype, a * nv, nh, nv, d)
    assert realised <= allowed * EVAL_SLACK + 8 * float64_slack(d) * (realised + nh)


@DTYPE
@FORMAL
@given(data=st.data())
def test_perturbation_ratio(dtype: torch.dtype, data: st.DataObject) -> None:
    """P-perturbation-ratio: perturbation_ratio is within K_RATIO ulps of |a|n_v/n_h, and the
    realised ‖steer - h‖ is within the step slack of |a|‖v‖."""
    h, v = data.draw(_h_v(dtype))
    a = data.draw(alphas())
    nv, nh = ops.vector_norm(v), ops.vector_norm(h[0])
    assume(nh > 0)
    ratio = ops.perturbation_ratio(a, nv, nh)
    exact = abs(Fraction(a)) * Fraction(nv) / Fraction(nh)
    assert abs(Fraction(ratio) - exact) <= bounds.quotient_bound(exact, Fraction(nh))
    out = steer_or_reject(h[:1], v, a)
    realised = float(torch.linalg.vector_norm(f64(out[0]) - f64(h[0])))
    d = v.numel()
    slack = step_norm_slack(dtype, abs(a) * nv, nh, nv, d) * EVAL_SLACK
    slack += 8 * float64_slack(d) * (realised + nh + abs(a) * nv)
    assert abs(realised - ratio * nh) <= slack + 4 * U64 * ratio * nh, (realised, ratio * nh, slack)


@FORMAL
@given(
    a=alphas(),
    norm_v=st.floats(2.0**-60, 2.0**60),
    norm_h=st.floats(2.0**-60, 2.0**60),
    c=positive_scales(),
)
def test_ratio_scale_invariance(a: float, norm_v: float, norm_h: float, c: float) -> None:
    """P-ratio-scale-invariance: ratio(a, c n_v, c n_h) within K_RATIO_SCALE ulps of ratio(a, n_v, n_h)
    (premise of the float bound: no float64 underflow, guaranteed here by |a| >= 2**-900)."""
    assume(a == 0 or abs(a) >= 2.0**-900)
    r0 = ops.perturbation_ratio(a, norm_v, norm_h)
    r1 = ops.perturbation_ratio(a, c * norm_v, c * norm_h)
    exact = abs(Fraction(a)) * Fraction(norm_v) / Fraction(norm_h)
    assert abs(Fraction(r1) - Fraction(r0)) <= bounds.K_RATIO_SCALE * bounds.FORMATS["float64"].u * exact


# --------------------------------------------------------------------------- linear laws


@DTYPE
@FORMAL
@given(data=st.data(), zero=st.sampled_from([0.0, -0.0]))
def test_zero_alpha_is_bit_exact(dtype: torch.dtype, data: st.DataObject, zero: float) -> None:
    """P-zero-alpha: steer_tensor(h, v, +-0) is h itself, every bit (signed zeros included)."""
    h, v = data.draw(_h_v(dtype))
    out = ops.steer_tensor(h, v, zero)
    assert out is h
    assert same_bits(out, h)


@DTYPE
@FORMAL
@given(data=st.data())
def test_additivity(dtype: torch.dtype, data: st.DataObject) -> None:
    """P-additivity: within additivity_bound per coordinate."""
    h, v = data.draw(_h_v(dtype))
    a, b = data.draw(alphas()), data.draw(alphas())
    left = steer_or_reject(steer_or_reject(h, v, a), v, b)
    right = steer_or_reject(h, v, a + b)
    vv = f64(v).abs()
    bound = additivity_bound(steer_rounding(dtype), f64(h).abs(), abs(a) * vv, abs(b) * vv, vv)
    assert_within(f64(left) - f64(right), bound, "additivity")


@DTYPE
@FORMAL
@given(data=st.data())
def test_composition(dtype: torch.dtype, data: st.DataObject) -> None:
    """P-composition: steering with u then w within composition_bound of steering with fl(u + w)."""
    h, u, w = data.draw(_h_v(dtype, 2))
    a = data.draw(alphas())
    left = steer_or_reject(steer_or_reject(h, u, a), w, a)
    right = steer_or_reject(h, u + w, a)
    uu, ww = f64(u).abs(), f64(w).abs()
    bound = composition_bound(steer_rounding(dtype), f64(h).abs(), abs(a) * uu, abs(a) * ww, uu, ww)
    assert_within(f64(left) - f64(right), bound, "composition")


@DTYPE
@FORMAL
@given(data=st.data())
def test_commutation(dtype: torch.dtype, data: st.DataObject) -> None:
    """P-commutation: the two orders differ by at most commutation_bound."""
    h, u, w = data.draw(_h_v(dtype, 2))
    a, b = data.draw(alphas()), data.draw(alphas())
    left = steer_or_reject(steer_or_reject(h, u, a), w, b)
    right = steer_or_reject(steer_or_reject(h, w, b), u, a)
    du = f64(ops.steering_delta(u, a, dtype)).abs()
    dw = f64(ops.steering_delta(w, b, dtype)).abs()
    bound = commutation_bound(steer_rounding(dtype), f64(h).abs(), du, dw)
    assert_within(f64(left) - f64(right), bound, "commutation")


@DTYPE
@FORMAL
@given(data=st.data())
def test_sign_symmetry_is_bit_exact(dtype: torch.dtype, data: st.DataObject) -> None:
    """P-sign-symmetry: steer(h, -v, a) and steer(h, v, -a) agree bit for bit (or both refuse)."""
    h, v = data.draw(_h_v(dtype))
    a = data.draw(alphas())
    outcomes = []
    for vec, alpha in ((-v, a), (v, -a)):
        try:
            outcomes.append(ops.steer_tensor(h, vec, alpha))
        except Exception as exc:
            outcomes.append(type(exc))
    left, right = outcomes
    if isinstance(left, torch.Tensor) and isinstance(right, torch.Tensor):
        assert same_bits(left, right)
    else:
        assert left == right


@DTYPE
@FORMAL
@given(data=st.data(), c=scales())
def test_scale_covariance(dtype: torch.dtype, data: st.DataObject, c: float) -> None:
    """P-scale-covariance: steer(h, fl(c v), a) within scale_bound of steer(h, v, c a)."""
    h, v = data.draw(_h_v(dtype))
    a = data.draw(alphas())
    cv = f64(v) * c  # exact: c has at most 4 significant bits
    scaled = cv.to(dtype)
    assume(bool(torch.isfinite(scaled).all()))
    left = steer_or_reject(h, scaled, a)
    right = steer_or_reject(h, v, c * a)
    bound = scale_bound(steer_rounding(dtype), f64(h).abs(), abs(a) * cv.abs(), f64(v).abs(), cv.abs(), abs(a))
    assert_within(f64(left) - f64(right), bound, "scale covariance")
    assert math.isfinite(c)
