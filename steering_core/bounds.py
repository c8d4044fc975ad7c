"""IEEE-754 formats and the rounding-error bounds that :mod:`steering_core.ops` satisfies.

This module is the single source of every floating-point tolerance in the project: the ops
(``normalize``'s fixpoint rule), the runtime contracts, the Hypothesis tests and the SMT checks
(:mod:`steering_core.formal.smt_float32` proves with z3, for each format, that the bounds below
follow from the IEEE-754 *standard model* of each rounding the ops perform; ``lean4/Kernel/Float.lean``
proves the same bounds, for symbolic units, in the Lean kernel that ``make lean`` runs). It is
part of the library layer, because the ops and the runtime contracts enforce these bounds at
run time; the formal layer re-exports it as :mod:`steering_core.formal.bounds`.

The standard model (IEEE-754 round-to-nearest-even, Higham, *Accuracy and Stability of Numerical
Algorithms*, 2nd ed., Thm 2.2 with gradual underflow): for a real ``x`` whose rounding is finite,
``|fl(x) - x| <= u*|x| + eta`` where ``u = 2**-p`` (p significand bits, hidden bit included) and
``eta`` is half the smallest subnormal; for a sum of two floats the ``eta`` term vanishes (a
subnormal sum is exact). Per format:

=========  ====  ==========  ===========
format     p     u           eta
=========  ====  ==========  ===========
float64    53    2**-53      2**-1075
float32    24    2**-24      2**-150
float16    11    2**-11      2**-25
bfloat16   8     2**-8       2**-134
=========  ====  ==========  ===========

What ``steer_tensor(h, v, alpha)`` rounds (``t`` = the residual dtype, work = float32 unless
``v`` is float64): ``alpha`` (a Python float64) once to work precision; the product ``a*v`` once
in work precision and once more to ``t`` (double rounding for float16/bfloat16); the sum
``h + delta`` once in ``t`` (torch computes half-precision sums in float32 and rounds once, which
is the correctly rounded half sum because 24 >= 2*11 + 2). :class:`SteerRounding` collects those
units per dtype.

All bounds are *per coordinate* unless stated; a bound on a norm follows from the per-coordinate
one by Minkowski's inequality (``||x + y|| <= ||x|| + ||y||``, and ``||(c_i)|| = sqrt(d)*c`` for a
constant vector).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import torch

# Constants proved by steering_core.formal.smt_float32 (per dtype) from the standard model.
K_ADDITIVITY = 8
"""|steer(steer(h,v,a),v,b) - steer(h,v,a+b)| <= K*uhat*(|h|+|a v|+|b v|) + 4*eta_p + 4*eta_a*|v|."""
K_COMPOSITION = 9
"""|steer(steer(h,u,a),w,a) - steer(h,u+w,a)| <= K*uhat*(|h|+|a u|+|a w|) + 4*eta_p + 4*eta_a*(|u|+|w|)."""
K_COMMUTATION = 5
"""|steer(steer(h,u,a),w,b) - steer(steer(h,w,b),u,a)| <= K*u_add*(|h|+|delta_u|+|delta_w|)."""
K_SCALE = 8
"""|steer(h,fl(c v),a) - steer(h,v,c a)| <= K*uhat*(|h|+|c a v|) + 4*eta_p + 2*eta_vec*|a|
+ 4*eta_a'*(|v|+|c v|)."""
K_STEP = 4
"""|(steer(h,v,a) - h) - a v| <= K*uhat*|a v| + uhat*|h| + 2*eta_p + 2*eta_a*|v|."""
K_RATIO = 3
"""|perturbation_ratio(a, n_v, n_h) - |a| n_v/n_h| <= K*u64*|a| n_v/n_h + 2*eta64*(1 + 1/n_h)."""
K_ALPHA_MAX = 3
"""|safe_alpha_max(rho, n_v, n_h) - rho n_h/n_v| <= K*u64*rho n_h/n_v + 2*eta64*(1 + 1/n_v)."""
K_RATIO_SCALE = 7
"""|ratio(a, fl(c n_v), fl(c n_h)) - ratio(a, n_v, n_h)| <= K*u64*ratio(a, n_v, n_h) when no
float64 intermediate underflows (every non-zero intermediate >= 2**-1022)."""


@dataclass(frozen=True)
class FloatFormat:
    """A binary IEEE-754 format: ``precision`` significand bits, ``emin`` the least normal exponent."""

    name: str
    precision: int
    emin: int
    ebits: int

    @property
    def u(self) -> Fraction:
        """Unit roundoff ``2**-p``: the relative error bound of one rounding to nearest."""
        return Fraction(1, 2**self.precision)

    @property
    def eta(self) -> Fraction:
        """Half the smallest subnormal: the absolute error bound of one rounding in the subnormal range."""
        return Fraction(1, 2 ** (self.precision - self.emin))


FORMATS: dict[str, FloatFormat] = {
    "float64": FloatFormat("float64", 53, -1022, 11),
    "float32": FloatFormat("float32", 24, -126, 8),
    "float16": FloatFormat("float16", 11, -14, 5),
    "bfloat16": FloatFormat("bfloat16", 8, -126, 8),
}

_DTYPE_NAMES: dict[torch.dtype, str] = {
    torch.float64: "float64",
    torch.float32: "float32",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
}


def format_of(dtype: torch.dtype | str) -> FloatFormat:
    """The :class:`FloatFormat` of a torch floating dtype (or its name).

    Raises:
        KeyError: not one of float64, float32, float16, bfloat16.
    """
    name = dtype if isinstance(dtype, str) else _DTYPE_NAMES[dtype]
    return FORMATS[name]


@dataclass(frozen=True)
class SteerRounding:
    """The rounding units of ``steer_tensor`` for one residual dtype (see the module docstring).

    Attributes:
        u_add, eta_add: the sum ``h + delta`` in the residual dtype (``eta_add`` is 0: sums are
            exact in the subnormal range).
        u_alpha, eta_alpha: ``alpha`` (float64) rounded to work precision (0 for float64).
        u_prod, eta_prod: ``fl_t(fl_work(a * v))``, the delta, double rounding included.
        u_vec, eta_vec: elementwise vector arithmetic in the residual dtype (``u + w``, ``c * v``).
        u_sum: a Python ``a + b`` (float64) then rounded to work precision.
        u64, eta64: float64.
    """

    dtype: str
    u_add: Fraction
    eta_add: Fraction
    u_alpha: Fraction
    eta_alpha: Fraction
    u_prod: Fraction
    eta_prod: Fraction
    u_vec: Fraction
    eta_vec: Fraction
    u_sum: Fraction
    u64: Fraction
    eta64: Fraction

    @property
    def u_hat(self) -> Fraction:
        """The largest single-operation unit of the pipeline (the ``uhat`` of the bounds)."""
        return max(self.u_add, self.u_alpha, self.u_prod, self.u_vec)


def steer_rounding(dtype: torch.dtype | str) -> SteerRounding:
    """The :class:`SteerRounding` of ``steer_tensor`` for residual dtype ``dtype``."""
    t = format_of(dtype)
    f64 = FORMATS["float64"]
    if t.name == "float64":
        work_u, work_eta = Fraction(0), Fraction(0)
        u_prod, eta_prod = f64.u, f64.eta
        u_sum = f64.u
    else:
        f32 = FORMATS["float32"]
        work_u, work_eta = f32.u, f32.eta
        if t.name == "float32":
            u_prod, eta_prod = f32.u, f32.eta
        else:
            u_prod = t.u + f32.u + t.u * f32.u
            eta_prod = t.eta + f32.eta * (1 + t.u)
        u_sum = f64.u + f32.u + f64.u * f32.u
    return SteerRounding(
        dtype=t.name,
        u_add=t.u,
        eta_add=Fraction(0),
        u_alpha=work_u,
        eta_alpha=work_eta,
        u_prod=u_prod,
        eta_prod=eta_prod,
        u_vec=t.u,
        eta_vec=t.eta,
        u_sum=u_sum,
        u64=f64.u,
        eta64=f64.eta,
    )


Num = Callable[[Fraction], Any]
"""Converts an exact constant into the arithmetic in use (``float`` for tensors, z3 reals)."""


def additivity_bound(r: SteerRounding, h: Any, av: Any, bv: Any, v: Any, num: Num = float) -> Any:
    """Per-coordinate bound on ``|steer(steer(h,v,a),v,b) - steer(h,v,a+b)|``.

    Arguments are absolute values ``|h|, |a v|, |b v|, |v|`` (exact reals), ``a + b`` taken in
    float64 as Python does. Proved in ``smt_float32`` (check ``f32.additivity``).
    """
    return num(K_ADDITIVITY * r.u_hat) * (h + av + bv) + num(4 * r.eta_prod) + num(4 * r.eta_alpha) * v


def composition_bound(r: SteerRounding, h: Any, au: Any, aw: Any, u: Any, w: Any, num: Num = float) -> Any:
    """Per-coordinate bound on ``|steer(steer(h,u,a),w,a) - steer(h, fl(u+w), a)|``.

    ``u + w`` is rounded in the residual dtype. Arguments: ``|h|, |a u|, |a w|, |u|, |w|``.
    """
    return num(K_COMPOSITION * r.u_hat) * (h + au + aw) + num(4 * r.eta_prod) + num(4 * r.eta_alpha) * (u + w)


def commutation_bound(r: SteerRounding, h: Any, du: Any, dw: Any, num: Num = float) -> Any:
    """Per-coordinate bound on ``|steer(steer(h,u,a),w,b) - steer(steer(h,w,b),u,a)|``.

    Both orders add the *same* rounded deltas ``du = steering_delta(u, a)``, ``dw``; only the two
    sums round differently. Arguments: ``|h|, |du|, |dw|``.
    """
    return num(K_COMMUTATION * r.u_add) * (h + du + dw)


def scale_bound(r: SteerRounding, h: Any, cav: Any, v: Any, q: Any, a: Any, num: Num = float) -> Any:
    """Per-coordinate bound on ``|steer(h, fl(c v), a) - steer(h, v, c*a)|``.

    ``fl(c v)`` is ``c * v`` rounded once to the residual dtype; ``c*a`` is a Python (float64)
    product. Arguments: ``|h|, |c a v|, |v|, |c v|, |a|`` (exact reals).
    """
    eta_a = r.eta_alpha + r.eta64
    return num(K_SCALE * r.u_hat) * (h + cav) + num(4 * r.eta_prod) + num(2 * r.eta_vec) * a + num(4 * eta_a) * (v + q)


def step_bound(r: SteerRounding, h: Any, av: Any, v: Any, num: Num = float) -> Any:
    """Per-coordinate bound on ``|(steer(h,v,a) - h) - a v|``: the realised step versus the exact one.

    Arguments: ``|h|, |a v|, |v|``. By Minkowski, ``| ||steer - h|| - |a| ||v|| | <=
    K*uhat*|a|*||v|| + uhat*||h|| + 2*sqrt(d)*eta_p + 2*eta_a*||v||`` (see :func:`step_norm_slack`).
    """
    return num(K_STEP * r.u_hat) * av + num(r.u_hat) * h + num(2 * r.eta_prod) + num(2 * r.eta_alpha) * v


def step_norm_slack(dtype: torch.dtype | str, alpha_norm_v: float, norm_h: float, norm_v: float, d: int) -> float:
    """Bound on ``| ||steer(h,v,a) - h|| - |a|*||v|| |`` (Minkowski over :func:`step_bound`)."""
    r = steer_rounding(dtype)
    return (
        float(K_STEP * r.u_hat) * alpha_norm_v
        + float(r.u_hat) * norm_h
        + 2.0 * math.sqrt(d) * float(r.eta_prod)
        + 2.0 * float(r.eta_alpha) * norm_v
    )


def quotient_bound(exact: Fraction, denominator: Fraction) -> Fraction:
    """Bound on ``|fl(fl(p * q) / n) - p*q/n|`` for float64 ``p, q, n > 0`` (``exact = p*q/n``).

    Used by ``perturbation_ratio`` (``|a| * n_v / n_h``) and ``safe_alpha_max``
    (``rho * n_h / n_v``): ``K*u64*exact + 2*eta64*(1 + 1/n)``; the ``eta64`` term is gradual
    underflow (a subnormal product or quotient), found by Hypothesis and proved in
    ``smt_float32`` (check ``f32.alpha_max``/``f32.perturbation_ratio``).
    """
    f64 = FORMATS["float64"]
    return K_RATIO * f64.u * exact + 2 * f64.eta * (1 + 1 / denominator)


def float64_slack(d: int) -> float:
    """Bound ``g = (d + 4) * 2**-53`` on the relative error of a float64 Euclidean norm of ``d`` entries.

    A recursive or pairwise sum of ``d`` squares errs by at most ``gamma_d ~ d*2**-53`` relatively;
    the square root halves it and adds one rounding; ``d + 4`` leaves a factor-two margin.
    """
    return (d + 4) * 2.0**-53


def unit_norm_tolerance(dtype: torch.dtype | str, d: int) -> float:
    """How far from 1 the float64-measured norm of ``normalize(v)`` (``d`` entries) may be.

    ``tol = u + sqrt(d)*eta + 4*g``: each entry of the float64 unit vector ``x`` is rounded once
    to ``dtype`` (``|y_i - x_i| <= u|x_i| + eta``, so ``||y - x|| <= u||x|| + sqrt(d)*eta``), ``x``
    itself is within ``g`` of unit norm, and the measurement adds ``g`` relative. The scalar step
    is proved in ``smt_float32`` (check ``f32.unit_sphere``); ``d = 1, 2`` are also proved directly.
    """
    fmt = format_of(dtype)
    return float(fmt.u) + math.sqrt(d) * float(fmt.eta) + 4.0 * float64_slack(d)


def unit_norm_tolerance_exact(fmt: FloatFormat, d: int, sqrt_d_upper: Fraction) -> Fraction:
    """:func:`unit_norm_tolerance` as an exact rational, with a rational upper bound of ``sqrt(d)``."""
    g = Fraction(d + 4, 2**53)
    return fmt.u + sqrt_d_upper * fmt.eta + 4 * g
