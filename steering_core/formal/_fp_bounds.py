"""z3 (linear real arithmetic) proofs that the bounds of :mod:`.bounds` follow from the standard model.

Encoding ("error atoms"): every rounding the implementation performs is a real variable ``e``
with ``|e| <= u*|x| + eta`` where ``x`` is the exact value being rounded and ``u``/``eta`` are
the concrete units of :class:`~steering_core.formal.bounds.SteerRounding`. Exact products such
as ``a*v`` are atoms themselves (``A``), so every constraint is linear and z3 decides them in
milliseconds, for every input at once (no enumeration). The standard model itself is IEEE-754's
correct-rounding guarantee; a direct z3 proof of it over ``fp.to_real`` does not finish within
a minute even for float16, so it is the one assumption (stated in the registry).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import z3

from steering_core.bounds import (
    FORMATS,
    K_ALPHA_MAX,
    K_RATIO,
    K_RATIO_SCALE,
    SteerRounding,
    additivity_bound,
    commutation_bound,
    composition_bound,
    scale_bound,
    step_bound,
    unit_norm_tolerance_exact,
)
from steering_core.formal._smt import Status, prove, q, zabs


class _Model:
    """Accumulates error atoms and their standard-model constraints.

    Every value is a pair ``(x, mag)``: the value and a linear upper bound of ``|x|`` built from
    the magnitudes of the inputs. A rounding ``fl(x) = x + e`` is constrained by
    ``|e| <= u*mag + eta``: weaker than ``|e| <= u*|x| + eta`` (``mag >= |x|``), so a claim proved
    under it holds a fortiori, and the query stays free of case splits except on the inputs' signs.
    """

    def __init__(self) -> None:
        self.hyps: list[Any] = []
        self._n = 0

    def var(self, name: str, nonneg: bool = False) -> tuple[Any, Any]:
        """A fresh input with its exact magnitude ``|x|``."""
        x = z3.Real(f"{name}_{self._n}")
        self._n += 1
        if nonneg:
            self.hyps.append(x >= 0)
            return x, x
        return x, zabs(x)

    def rnd(self, val: tuple[Any, Any], u: Fraction, eta: Any = 0) -> tuple[Any, Any]:
        """``fl(x)`` as ``x + e`` with ``|e| <= u*mag + eta``; the result's magnitude bound."""
        x, mag = val
        e = z3.Real(f"e_{self._n}")
        self._n += 1
        eta_term = q(eta) if isinstance(eta, (Fraction, int)) else eta
        bound = q(u) * mag + eta_term
        self.hyps += [e <= bound, -e <= bound]
        return x + e, mag + bound


def _plus(a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
    return a[0] + b[0], a[1] + b[1]


def _delta(m: _Model, r: SteerRounding, exact_av: tuple[Any, Any], abs_v: Any) -> tuple[Any, Any]:
    """``fl_t(fl_work(fl_work(alpha) * v))`` given the exact ``alpha*v`` and ``|v|``."""
    av = m.rnd(exact_av, r.u_alpha, q(r.eta_alpha) * abs_v)  # (alpha rounded) * v, exactly
    return m.rnd(av, r.u_prod, r.eta_prod)


def _add(m: _Model, r: SteerRounding, x: tuple[Any, Any], y: tuple[Any, Any]) -> tuple[Any, Any]:
    return m.rnd(_plus(x, y), r.u_add)


def _num(f: Fraction) -> Any:
    return q(f)


def additivity(r: SteerRounding) -> Status:
    """``|steer(steer(h,v,a),v,b) - steer(h,v,a+b)| <= additivity_bound`` per coordinate."""
    m = _Model()
    h, av, bv = m.var("h"), m.var("A"), m.var("B")
    v, _ = m.var("V", nonneg=True)
    left = _add(m, r, _add(m, r, h, _delta(m, r, av, v)), _delta(m, r, bv, v))
    # a + b: a Python float64 sum, then rounded to work precision together with the product.
    sum_v = m.rnd(_plus(av, bv), r.u_sum, q(r.eta_alpha) * v)
    right = _add(m, r, h, m.rnd(sum_v, r.u_prod, r.eta_prod))
    claim = zabs(left[0] - right[0]) <= additivity_bound(r, h[1], av[1], bv[1], v, _num)
    return prove(claim, m.hyps)


def composition(r: SteerRounding) -> Status:
    """``|steer(steer(h,u,a),w,a) - steer(h, fl_t(u+w), a)| <= composition_bound``."""
    m = _Model()
    h, au, aw = m.var("h"), m.var("AU"), m.var("AW")
    u, _ = m.var("U", nonneg=True)
    w, _ = m.var("W", nonneg=True)
    left = _add(m, r, _add(m, r, h, _delta(m, r, au, u)), _delta(m, r, aw, w))
    # q = fl_t(u + w): a*q = a(u+w) + a*e with |a*e| <= u_vec*|a(u+w)| (sums: no eta); |q| <= (1+u)(|u|+|w|).
    aq = m.rnd(_plus(au, aw), r.u_vec)
    right = _add(m, r, h, _delta(m, r, aq, (1 + q(r.u_vec)) * (u + w)))
    claim = zabs(left[0] - right[0]) <= composition_bound(r, h[1], au[1], aw[1], u, w, _num)
    return prove(claim, m.hyps)


def commutation(r: SteerRounding) -> Status:
    """``|fl(fl(h+P)+Q) - fl(fl(h+Q)+P)| <= commutation_bound`` for the same rounded deltas P, Q."""
    m = _Model()
    h, p, qq = m.var("h"), m.var("P"), m.var("Q")
    left = _add(m, r, _add(m, r, h, p), qq)
    right = _add(m, r, _add(m, r, h, qq), p)
    claim = zabs(left[0] - right[0]) <= commutation_bound(r, h[1], p[1], qq[1], _num)
    return prove(claim, m.hyps)


def scale(r: SteerRounding) -> Status:
    """``|steer(h, fl_t(c v), a) - steer(h, v, fl64(c a))| <= scale_bound``."""
    m = _Model()
    h, cav, cv = m.var("h"), m.var("CAV"), m.var("CV")
    v, _ = m.var("V", nonneg=True)
    al, _ = m.var("Aabs", nonneg=True)
    # q = fl_t(c v) = cv + e, |e| <= u_vec|cv| + eta_vec; a*q = cav + a*e, |a*e| <= u_vec|cav| + eta_vec|a|.
    aq = m.rnd(cav, r.u_vec, q(r.eta_vec) * al)
    qa = (1 + q(r.u_vec)) * cv[1] + q(r.eta_vec)  # bound on |fl_t(c v)|
    left = _add(m, r, h, _delta(m, r, aq, qa))
    # c*a in float64 (u64, eta64), then to work precision: (fl(fl64(c a)) * v).
    ca_v = m.rnd(m.rnd(cav, r.u64, q(r.eta64) * v), r.u_alpha, q(r.eta_alpha) * v)
    right = _add(m, r, h, m.rnd(ca_v, r.u_prod, r.eta_prod))
    claim = zabs(left[0] - right[0]) <= scale_bound(r, h[1], cav[1], v, cv[1], al, _num)
    return prove(claim, m.hyps)


def step(r: SteerRounding) -> Status:
    """``|(fl(h + delta) - h) - a v| <= step_bound`` (safe alpha and the perturbation ratio)."""
    m = _Model()
    h, av = m.var("h"), m.var("A")
    v, _ = m.var("V", nonneg=True)
    out = _add(m, r, h, _delta(m, r, av, v))
    claim = zabs((out[0] - h[0]) - av[0]) <= step_bound(r, h[1], av[1], v, _num)
    return prove(claim, m.hyps)


def unit_scalar(fmt_name: str, d: int, sqrt_d_upper: Fraction) -> Status:
    """The scalar step of the unit-norm bound, valid for every ``d``.

    Hypotheses: ``|Nx - 1| <= g`` (float64 normalisation), ``Ne <= u*Nx + sqrt(d)*eta`` (the
    rounding error vector, by Minkowski over the per-entry standard model), ``|Ny - Nx| <= Ne``
    (triangle inequality), ``|M - Ny| <= g*Ny`` (float64 measurement). Claim ``|M - 1| <= tol``.
    """
    fmt = FORMATS[fmt_name]
    g = Fraction(d + 4, 2**53)
    nx, ne, ny, meas = (z3.Real(n) for n in ("Nx", "Ne", "Ny", "M"))
    hyps = [
        zabs(nx - 1) <= q(g),
        ne >= 0,
        ne <= q(fmt.u) * nx + q(sqrt_d_upper * fmt.eta),
        zabs(ny - nx) <= ne,
        ny >= 0,
        zabs(meas - ny) <= q(g) * ny,
    ]
    return prove(zabs(meas - 1) <= q(unit_norm_tolerance_exact(fmt, d, sqrt_d_upper)), hyps)


def unit_direct(fmt_name: str, d: int) -> Status:
    """The unit-norm bound proved directly on coordinates (nonlinear; tractable for d = 1, 2)."""
    fmt = FORMATS[fmt_name]
    g = Fraction(d + 4, 2**53)
    sqrt_up = Fraction(3, 2) if d == 2 else Fraction(1)
    tau = fmt.u + sqrt_up * fmt.eta + 2 * g
    xs = [z3.Real(f"x{i}") for i in range(d)]
    ys = [z3.Real(f"y{i}") for i in range(d)]
    sx = z3.Sum([x * x for x in xs])
    sy = z3.Sum([y * y for y in ys])
    hyps = [zabs(y - x) <= q(fmt.u) * zabs(x) + q(fmt.eta) for x, y in zip(xs, ys, strict=True)]
    hyps += [sx >= q((1 - g) ** 2), sx <= q((1 + g) ** 2)]
    upper = prove(sy <= q((1 + tau) ** 2), hyps)
    lower = prove(sy >= q((1 - tau) ** 2), hyps)
    return upper if upper != "proved" else lower


def _quotient64(k: int) -> Status:
    """``fl(fl(P)/N)`` vs ``X = P/N`` with ``Y = 1/N``: ``fl(P) = P(1+e1) + d1``, ``fl(q) = q(1+e2) + d2``.

    Claim: ``|computed - X| <= k*u64*X + 2*eta64*(1 + Y)`` (relative and underflow terms).
    """
    f64 = FORMATS["float64"]
    x, y, e1, e2, d1, d2 = z3.Reals("X Y e1 e2 d1 d2")
    hyps = [x >= 0, y > 0, zabs(e1) <= q(f64.u), zabs(e2) <= q(f64.u), zabs(d1) <= q(f64.eta), zabs(d2) <= q(f64.eta)]
    computed = (x * (1 + e1) + d1 * y) * (1 + e2) + d2
    return prove(zabs(computed - x) <= q(k * f64.u) * x + 2 * q(f64.eta) * (1 + y), hyps)


def ratio64() -> Status:
    """``perturbation_ratio``: ``fl(fl(|a| n_v)/n_h)`` within :func:`bounds.quotient_bound` of ``|a| n_v/n_h``."""
    return _quotient64(K_RATIO)


def alpha_max64() -> Status:
    """``safe_alpha_max``: ``fl(fl(rho n_h)/n_v)`` within :func:`bounds.quotient_bound` of ``rho n_h/n_v``."""
    return _quotient64(K_ALPHA_MAX)


def ratio_scale64() -> Status:
    """``ratio(a, fl(c n_v), fl(c n_h))`` vs ``ratio(a, n_v, n_h)``: within ``K_RATIO_SCALE*u64`` relative.

    Premise: no float64 intermediate underflows, so every rounding is relative (no eta term).

    ``r1 = X (1+e1)(1+e2)(1+e3)/(1+e4)`` (``c n_v`` and ``c n_h`` rounded, product and quotient
    rounded) and ``r0 = X (1+e5)(1+e6)``; multiplied out so that the query is polynomial.
    """
    u = FORMATS["float64"].u
    x = z3.Real("X")
    es = z3.Reals("e1 e2 e3 e4 e5 e6")
    hyps = [x >= 0] + [zabs(e) <= q(u) for e in es]
    e1, e2, e3, e4, e5, e6 = es
    r1_times = x * (1 + e1) * (1 + e2) * (1 + e3)  # r1 * (1 + e4)
    r0 = x * (1 + e5) * (1 + e6)
    bound = q(K_RATIO_SCALE * u) * x
    # |r1 - r0| <= bound  <=>  |r1_times - r0 (1+e4)| <= bound (1+e4), as 1 + e4 > 0.
    return prove(zabs(r1_times - r0 * (1 + e4)) <= bound * (1 + e4), hyps)
