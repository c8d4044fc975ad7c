"""z3 proofs of every steering law over the reals (``R^d``), for every dimension ``d``.

Why scalar proofs cover every ``d`` (the reduction, also stated in ``steering_core/data/properties.toml``):

* *Linear laws* (zero alpha, additivity, composition, commutation, sign symmetry, scale
  covariance) are equalities of vectors whose ``i``-th coordinate depends only on the ``i``-th
  coordinates of the inputs: ``steer(h,v,a)_i = h_i + a*v_i``. Two vectors are equal iff every
  coordinate is, so one proof over scalar reals ``h_i, v_i, a, b, c`` proves the law for all
  ``d`` at once.
* *Norm laws* (unit sphere, zero has no direction, safe alpha, alpha max, perturbation ratio,
  idempotence, ratio scale invariance) depend on the inputs only through squared norms
  ``S = sum_i x_i**2`` and termwise identities: ``(c*x_i)**2 = c**2 * x_i**2`` and
  ``(x_i / n)**2 = x_i**2 / n**2`` summed over ``i`` give ``||c x||**2 = c**2 S`` and
  ``||x / n||**2 = S / n**2`` (linearity of the sum); ``x_i**2 >= 0`` gives ``S = 0 => x = 0``.
  So each is proved (a) termwise for one coordinate, and (b) over the scalars ``S`` and
  ``n = sqrt(S)`` (``n >= 0, n**2 = S``), which is valid for every ``d``; and (c) as a sanity
  check directly on coordinates for ``d = 1, 2, 3, 4``.

Each check is *proved* iff the negation of every sub-claim is unsatisfiable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import z3

from steering_core.formal._smt import CheckResult, Status, prove, run_all, zabs

DIMS = (1, 2, 3, 4)


def _vec(name: str, d: int) -> list[Any]:
    return [z3.Real(f"{name}{i}") for i in range(d)]


def _sq(xs: list[Any]) -> Any:
    return z3.Sum([x * x for x in xs])


def _norm(name: str, xs: list[Any]) -> tuple[Any, list[Any]]:
    """A real ``n`` with ``n >= 0`` and ``n**2 = sum x_i**2``, and those hypotheses."""
    n = z3.Real(name)
    return n, [n >= 0, n * n == _sq(xs)]


def _scalar_norm(name: str, square: Any) -> tuple[Any, list[Any]]:
    n = z3.Real(name)
    return n, [n >= 0, n * n == square]


# --------------------------------------------------------------------------- linear laws


def _coordinate(law: Callable[[Any, Any, Any, Any, Any, Any], Any]) -> Callable[[], Status]:
    def part() -> Status:
        h, u, w, a, b, c = z3.Reals("h u w a b c")
        return prove(law(h, u, w, a, b, c))

    return part


def steer(h: Any, v: Any, a: Any) -> Any:
    """One coordinate of ``steer(h, v, a) = h + a*v``."""
    return h + a * v


def check_zero_alpha() -> CheckResult:
    """steer(h, v, 0) = h."""
    return run_all("real.zero_alpha", [("coordinate", _coordinate(lambda h, v, _w, _a, _b, _c: steer(h, v, 0) == h))])


def check_additivity() -> CheckResult:
    """steer(steer(h, v, a), v, b) = steer(h, v, a + b)."""
    return run_all(
        "real.additivity",
        [("coordinate", _coordinate(lambda h, v, _w, a, b, _c: steer(steer(h, v, a), v, b) == steer(h, v, a + b)))],
    )


def check_composition() -> CheckResult:
    """steer(steer(h, u, a), w, a) = steer(h, u + w, a)."""
    return run_all(
        "real.composition",
        [("coordinate", _coordinate(lambda h, u, w, a, _b, _c: steer(steer(h, u, a), w, a) == steer(h, u + w, a)))],
    )


def check_commutation() -> CheckResult:
    """steer(steer(h, u, a), w, b) = steer(steer(h, w, b), u, a)."""
    return run_all(
        "real.commutation",
        [
            (
                "coordinate",
                _coordinate(lambda h, u, w, a, b, _c: steer(steer(h, u, a), w, b) == steer(steer(h, w, b), u, a)),
            )
        ],
    )


def check_sign_symmetry() -> CheckResult:
    """steer(h, -v, a) = steer(h, v, -a)."""
    return run_all(
        "real.sign_symmetry",
        [("coordinate", _coordinate(lambda h, v, _w, a, _b, _c: steer(h, -v, a) == steer(h, v, -a)))],
    )


def check_scale_covariance() -> CheckResult:
    """steer(h, c v, a) = steer(h, v, c a)."""
    return run_all(
        "real.scale_covariance",
        [("coordinate", _coordinate(lambda h, v, _w, a, _b, c: steer(h, c * v, a) == steer(h, v, c * a)))],
    )


# --------------------------------------------------------------------------- norm laws


def _unit_generic() -> Status:
    s, n, x = z3.Reals("S n x")
    termwise = prove((x / n) * (x / n) == (x * x) / (n * n), [n > 0])
    if termwise != "proved":
        return termwise
    # sum_i (x_i/n)^2 = (sum_i x_i^2)/n^2 = S/n^2 = 1
    return prove(s / (n * n) == 1, [s > 0, n >= 0, n * n == s])


def _unit_dim(d: int) -> Callable[[], Status]:
    def part() -> Status:
        v = _vec("v", d)
        n, hyps = _norm("n", v)
        hyps.append(z3.Or(*[x != 0 for x in v]))
        return prove(_sq([x / n for x in v]) == 1, hyps)

    return part


def check_unit_sphere() -> CheckResult:
    """v != 0 => ||v / ||v|| || = 1."""
    parts: list[tuple[str, Callable[[], Status]]] = [("generic (S, termwise)", _unit_generic)]
    parts += [(f"d={d}", _unit_dim(d)) for d in DIMS]
    return run_all("real.unit_sphere", parts)


def _zero_generic() -> Status:
    x, s, rest, c = z3.Reals("x S R c")
    # termwise: x^2 <= S when S = x^2 + (sum of the other squares, >= 0); so S = 0 forces x = 0
    forced = prove(x == 0, [s == x * x + rest, rest >= 0, s == 0])
    if forced != "proved":
        return forced
    # then every coordinate of c*v is 0 and ||c v||^2 = c^2 * 0 = 0 != 1
    return prove(c * c * s != 1, [s == 0])


def _zero_dim(d: int) -> Callable[[], Status]:
    def part() -> Status:
        v = _vec("v", d)
        c = z3.Real("c")
        return prove(_sq([c * x for x in v]) != 1, [_sq(v) == 0])

    return part


def check_normalize_zero() -> CheckResult:
    """The zero vector has no unit normalisation: ||v|| = 0 => ||c v|| != 1 for every c."""
    parts: list[tuple[str, Callable[[], Status]]] = [("generic (S, termwise)", _zero_generic)]
    parts += [(f"d={d}", _zero_dim(d)) for d in DIMS]
    return run_all("real.normalize_zero", parts)


def _step_norm_generic() -> Status:
    """||steer(h,v,a) - h|| = |a| ||v||: termwise (h + a v) - h = a v, so ||.||^2 = a^2 S_v."""
    h, v, a, sv, ns, nv = z3.Reals("h v a Sv ns nv")
    termwise = prove(((h + a * v) - h) * ((h + a * v) - h) == a * a * (v * v))
    if termwise != "proved":
        return termwise
    return prove(ns == zabs(a) * nv, [sv >= 0, nv >= 0, nv * nv == sv, ns >= 0, ns * ns == a * a * sv])


def _step_norm_dim(d: int) -> tuple[list[Any], list[Any], Any, Any, Any, Any, list[Any]]:
    h, v = _vec("h", d), _vec("v", d)
    a = z3.Real("a")
    ns, hyps = _norm("ns", [steer(hi, vi, a) - hi for hi, vi in zip(h, v, strict=True)])
    nv, hv = _norm("nv", v)
    nh, hh = _norm("nh", h)
    return h, v, a, ns, nv, nh, hyps + hv + hh


def _safe_alpha_dim(d: int) -> Callable[[], Status]:
    def part() -> Status:
        _, _, a, ns, nv, nh, hyps = _step_norm_dim(d)
        rho = z3.Real("rho")
        return prove(ns <= rho * nh, [*hyps, zabs(a) * nv <= rho * nh])

    return part


def _safe_alpha_generic() -> Status:
    a, nv, nh, ns, rho = z3.Reals("a nv nh ns rho")
    return prove(ns <= rho * nh, [ns == zabs(a) * nv, zabs(a) * nv <= rho * nh])


def check_safe_alpha() -> CheckResult:
    """|a| ||v|| <= rho ||h|| => ||steer(h, v, a) - h|| <= rho ||h||."""
    parts: list[tuple[str, Callable[[], Status]]] = [
        ("generic step norm", _step_norm_generic),
        ("generic implication", _safe_alpha_generic),
    ]
    parts += [(f"d={d}", _safe_alpha_dim(d)) for d in DIMS]
    return run_all("real.safe_alpha", parts)


def _alpha_max_generic() -> Status:
    a, nv, nh, rho, amax = z3.Reals("a nv nh rho amax")
    hyps = [nv > 0, nh >= 0, rho >= 0, amax == rho * nh / nv]
    results = [
        prove(amax * nv == rho * nh, hyps),  # attained
        prove(zabs(a) * nv <= rho * nh, [*hyps, zabs(a) <= amax]),  # every |a| <= amax is safe
        prove(zabs(a) * nv > rho * nh, [*hyps, zabs(a) > amax]),  # every larger |a| is not
    ]
    return next((r for r in results if r != "proved"), "proved")


def check_alpha_max() -> CheckResult:
    """alpha_max = rho ||h|| / ||v|| is the largest |a| with |a| ||v|| <= rho ||h|| (||v|| > 0).

    Only the norms enter, so the scalar proof is valid for every d.
    """
    return run_all("real.alpha_max", [("generic (norms)", _alpha_max_generic)])


def _ratio_dim(d: int) -> Callable[[], Status]:
    def part() -> Status:
        _, _, a, ns, nv, nh, hyps = _step_norm_dim(d)
        return prove(ns / nh == zabs(a) * nv / nh, [*hyps, nh > 0])

    return part


def check_perturbation_ratio() -> CheckResult:
    """||steer(h, v, a) - h|| / ||h|| = |a| ||v|| / ||h|| (||h|| > 0)."""
    parts: list[tuple[str, Callable[[], Status]]] = [("generic step norm", _step_norm_generic)]
    parts += [(f"d={d}", _ratio_dim(d)) for d in DIMS]
    return run_all("real.perturbation_ratio", parts)


def _idem_generic() -> Status:
    x, n, m = z3.Reals("x n m")
    # w_i = x_i / n has ||w|| = 1 (unit sphere), so w_i / ||w|| = w_i termwise
    return prove((x / n) / m == x / n, [n > 0, m == 1])


def _idem_dim(d: int) -> Callable[[], Status]:
    def part() -> Status:
        v = _vec("v", d)
        n, hyps = _norm("n", v)
        hyps.append(z3.Or(*[x != 0 for x in v]))
        w = [x / n for x in v]
        m, hm = _norm("m", w)
        return prove(z3.And(*[wi / m == wi for wi in w]), hyps + hm)

    return part


def check_normalize_idempotent() -> CheckResult:
    """normalize(normalize(v)) = normalize(v) for v != 0."""
    parts: list[tuple[str, Callable[[], Status]]] = [("generic", _idem_generic)]
    parts += [(f"d={d}", _idem_dim(d)) for d in DIMS]
    return run_all("real.normalize_idempotent", parts)


def _ratio_scale_generic() -> Status:
    x, c, sv, sh, a, nv, nh, ncv, nch = z3.Reals("x c Sv Sh a nv nh ncv nch")
    termwise = prove((c * x) * (c * x) == c * c * (x * x))
    if termwise != "proved":
        return termwise
    hyps = [c > 0, sv >= 0, sh > 0, nv >= 0, nv * nv == sv, nh > 0, nh * nh == sh]
    hyps += [ncv >= 0, ncv * ncv == c * c * sv, nch >= 0, nch * nch == c * c * sh]
    return prove(zabs(a) * ncv / nch == zabs(a) * nv / nh, hyps)


def _ratio_scale_dim(d: int) -> Callable[[], Status]:
    def part() -> Status:
        h, v = _vec("h", d), _vec("v", d)
        a, c = z3.Reals("a c")
        nv, hv = _norm("nv", v)
        nh, hh = _norm("nh", h)
        ncv, hcv = _norm("ncv", [c * x for x in v])
        nch, hch = _norm("nch", [c * x for x in h])
        hyps = [c > 0, nh > 0, *hv, *hh, *hcv, *hch]
        return prove(zabs(a) * ncv / nch == zabs(a) * nv / nh, hyps)

    return part


def check_ratio_scale() -> CheckResult:
    """ratio(a, c v, c h) = ratio(a, v, h) for c > 0 (h != 0)."""
    parts: list[tuple[str, Callable[[], Status]]] = [("generic (S, termwise)", _ratio_scale_generic)]
    parts += [(f"d={d}", _ratio_scale_dim(d)) for d in DIMS]
    return run_all("real.ratio_scale", parts)


CHECKS: dict[str, Callable[[], CheckResult]] = {
    "real.unit_sphere": check_unit_sphere,
    "real.normalize_zero": check_normalize_zero,
    "real.safe_alpha": check_safe_alpha,
    "real.alpha_max": check_alpha_max,
    "real.perturbation_ratio": check_perturbation_ratio,
    "real.zero_alpha": check_zero_alpha,
    "real.additivity": check_additivity,
    "real.composition": check_composition,
    "real.commutation": check_commutation,
    "real.sign_symmetry": check_sign_symmetry,
    "real.scale_covariance": check_scale_covariance,
    "real.normalize_idempotent": check_normalize_idempotent,
    "real.ratio_scale": check_ratio_scale,
}


def run_check(check_id: str) -> CheckResult:
    """Run the real-arithmetic check ``check_id``.

    Raises:
        KeyError: unknown check id.
    """
    return CHECKS[check_id]()
