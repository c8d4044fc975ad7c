"""z3 checks of the steering laws over IEEE-754 (FP theory, round-to-nearest-even).

What is modelled, exactly as :mod:`steering_core.ops` computes (residual dtype ``t``):

* ``steer_tensor(h, v, alpha)``: ``alpha == 0`` (either sign) returns ``h`` with no arithmetic;
  otherwise ``a = fl32(alpha)`` (``alpha`` is a float64), ``delta = fl_t(fl32(fl32(v) * a))``
  and ``out = fl_t(h + delta)``. A Python ``a + b`` or ``c * a`` is a float64 operation first.
* ``normalize(v)``: the exact power-of-two prescale, the float64 sum of squares, ``sqrt`` and
  quotient, then one rounding to ``t``; modelled as ground terms (the recorded counterexamples),
  not searched symbolically (float64 ``sqrt``/division bit-blast too slowly for a CI budget).
* ``perturbation_ratio`` / ``safe_alpha_max``: float64 products and quotients (ground terms).

Each check does up to three things, and passes only if all agree with the registry:

1. *search*: a satisfiable FP query finds an input on which the real law fails (or, for the laws
   that hold bit-exactly, an unsatisfiable query proves that none exists);
2. *replay*: the registry's recorded counterexample is evaluated as ground FP terms and must
   violate the law (exactly, with rationals) and produce the recorded outputs bit for bit;
3. *bound*: the derived bound is proved from the standard model of each rounding for float32,
   float16, bfloat16 and float64 (:mod:`steering_core.formal._fp_bounds`, linear real arithmetic).
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import z3

from steering_core.bounds import (
    FORMATS,
    K_RATIO_SCALE,
    quotient_bound,
    steer_rounding,
    unit_norm_tolerance_exact,
)
from steering_core.formal import _fp_bounds
from steering_core.formal._smt import CheckResult, Status, prove, q, solve, zabs

RNE = z3.RNE()
SORTS: dict[str, Any] = {
    "float64": z3.Float64(),
    "float32": z3.Float32(),
    "float16": z3.FloatHalf(),
    "bfloat16": z3.FPSort(8, 8),
}
F32, F64 = SORTS["float32"], SORTS["float64"]
BOUND_DTYPES = ("float32", "float16", "bfloat16", "float64")
HALF_DTYPES = ("float32", "float16", "bfloat16")
SEARCH_RLIMIT = 100_000_000
"""Resource limit (z3 rlimit steps) of each counterexample search and of each strategy of it.
The searches use 0.03-7.3M steps with z3 5.4.1 (fresh context, the strategy of :data:`SEARCH_TACTICS`):
a margin of over 13x. A search that runs out is reported ``unknown`` (a gap), never a pass or a fail."""
BIT_BLAST = ("simplify", "fpa2bv", "simplify", "bit-blast", "sat")
SEARCH_TACTICS: dict[str, tuple[tuple[str, ...] | None, ...]] = {
    # First strategy that answers wins; the order was chosen by measured rlimit steps, and
    # every strategy is deterministic, so the verdict does not depend on the machine.
    "additivity": (BIT_BLAST, None),
    "composition": (BIT_BLAST, None),
    "scale": (BIT_BLAST, None),
    "zero_alpha": (BIT_BLAST, None),
    "commutation": (None, BIT_BLAST),
    "step": (None, BIT_BLAST),
}

# --------------------------------------------------------------------------- FP model


def fp(value: float, sort: Any) -> Any:
    """An exact FP literal (``value`` must be representable in ``sort``)."""
    return z3.FPVal(value, sort)


def to(x: Any, sort: Any) -> Any:
    """Round (RNE) ``x`` to ``sort``: ``torch``'s ``.to(dtype)``."""
    return z3.fpToFP(RNE, x, sort)


def steer_fp(h: Any, v: Any, alpha64: Any, t: str = "float32") -> Any:
    """One coordinate of ``ops.steer_tensor`` for residual dtype ``t`` (``alpha64`` a float64 term)."""
    a = to(alpha64, F32)
    prod = z3.fpMul(RNE, to(v, F32), a)
    delta = prod if t == "float32" else to(prod, SORTS[t])
    return z3.If(z3.fpIsZero(alpha64), h, z3.fpAdd(RNE, h, delta))


def add64(a: Any, b: Any) -> Any:
    """Python's ``a + b`` on float64 terms."""
    return z3.fpAdd(RNE, a, b)


def ground(term: Any) -> Fraction:
    """The exact rational value of a finite ground FP term."""
    value = z3.simplify(z3.fpToReal(term))
    return Fraction(value.as_fraction())


def ground_float(term: Any) -> float:
    """The value of a ground float32/float64/half term as a Python float (bit-exact, signed zeros kept)."""
    sort = term.sort()
    bits = z3.simplify(z3.fpToIEEEBV(term)).as_long()
    ebits, sbits = sort.ebits(), sort.sbits()
    if (ebits, sbits) == (11, 53):
        return float(struct.unpack("<d", struct.pack("<Q", bits))[0])
    if (ebits, sbits) == (8, 24):
        return float(struct.unpack("<f", struct.pack("<I", bits))[0])
    if (ebits, sbits) == (5, 11):
        return float(struct.unpack("<e", struct.pack("<H", bits))[0])
    if (ebits, sbits) == (8, 8):
        return float(struct.unpack("<f", struct.pack("<I", bits << 16))[0])
    raise ValueError(f"unsupported sort {sort}")


def _hex(x: float) -> str:
    return float.hex(x)


def _vec(entry: Mapping[str, Any], name: str) -> list[float]:
    raw = entry["inputs"][name]
    return [float.fromhex(s) for s in (raw if isinstance(raw, list) else [raw])]


def _scalar(entry: Mapping[str, Any], name: str) -> float:
    return float.fromhex(entry["inputs"][name])


def _finite(*xs: Any) -> Any:
    return z3.And(*[z3.And(z3.Not(z3.fpIsInf(x)), z3.Not(z3.fpIsNaN(x))) for x in xs])


def _normal(*xs: Any) -> Any:
    return z3.And(*[z3.fpIsNormal(x) for x in xs])


def _search(
    constraints: list[Any], names: list[Any], strategies: tuple[tuple[str, ...] | None, ...] = (None,)
) -> tuple[str, dict[str, str] | None]:
    """``sat``/``unsat``/``unknown (reason) [steps]`` and, if sat, the model's values of ``names`` (hex).

    Tries ``strategies`` in order (None: z3's default solver), each under :data:`SEARCH_RLIMIT`
    in a fresh context; the first that answers sat or unsat decides.
    """
    tried: list[str] = []
    for tactics in strategies:
        solved = solve(constraints, SEARCH_RLIMIT, tactics, want_model=True)
        if solved.result == "sat":
            return f"sat [{solved.steps} rlimit steps]", {str(n): _hex(ground_float(solved.value(n))) for n in names}
        if solved.result == "unsat":
            return f"unsat [{solved.steps} rlimit steps]", None
        tried.append(f"{'+'.join(tactics) if tactics else 'default'}: {solved.describe()}")
    return f"unknown ({'; '.join(tried)})", None


def _decide(claimed: str, conditions: list[bool | None]) -> tuple[bool, str]:
    """(ok, status) of a check whose ``conditions`` are True (confirmed), False (refuted) or None
    (a solver query was undecided within its rlimit).

    Any False: not ok, status ``claimed`` (a FAILED cell). Else any None: not ok, status
    ``unknown`` (an UNKNOWN gap, never a verdict). Else ok with status ``claimed``.
    """
    if any(c is False for c in conditions):
        return False, claimed
    if any(c is None for c in conditions):
        return False, "unknown"
    return True, claimed


def _found(search: str) -> bool | None:
    return True if search.startswith("sat") else (False if search.startswith("unsat") else None)


def _proved(statuses: list[Status]) -> list[bool | None]:
    return [True if p == "proved" else (False if p == "failed" else None) for p in statuses]


# --------------------------------------------------------------------------- bound proofs


def _bound_parts(fn: Callable[[Any], Status], dtypes: tuple[str, ...] = BOUND_DTYPES) -> list[tuple[str, Status]]:
    return [(f"bound[{dt}]", fn(steer_rounding(dt))) for dt in dtypes]


# --------------------------------------------------------------------------- replays


def _replay_vectors(
    entry: Mapping[str, Any], compute: Callable[[Mapping[str, Any], str], tuple[list[Any], list[Any]]]
) -> tuple[bool, dict[str, str], str]:
    """Evaluate a recorded counterexample of an equality law: lhs/rhs ground terms per coordinate.

    Returns (law violated?, observed outputs as hex lists joined by ',', detail).
    """
    dtype = str(entry.get("dtype", "float32"))
    lhs, rhs = compute(entry, dtype)
    lhs_f = [ground_float(z3.simplify(x)) for x in lhs]
    rhs_f = [ground_float(z3.simplify(x)) for x in rhs]
    violated = any(ground(z3.simplify(a)) != ground(z3.simplify(b)) for a, b in zip(lhs, rhs, strict=True))
    observed = {"lhs": ",".join(_hex(x) for x in lhs_f), "rhs": ",".join(_hex(x) for x in rhs_f)}
    return violated, observed, f"lhs={lhs_f} rhs={rhs_f}"


def _observed_matches(entry: Mapping[str, Any], observed: Mapping[str, str]) -> bool:
    recorded = entry.get("observed", {})
    return all(str(recorded.get(k)) == v for k, v in observed.items())


def _lit(x: float, dtype: str) -> Any:
    return fp(x, SORTS[dtype])


def _steer_vec(h: list[float], v: list[float], alpha: Any, dtype: str) -> list[Any]:
    return [steer_fp(_lit(hi, dtype), _lit(vi, dtype), alpha, dtype) for hi, vi in zip(h, v, strict=True)]


def _chain(terms: list[Any], v: list[float], alpha: Any, dtype: str) -> list[Any]:
    return [steer_fp(t, _lit(vi, dtype), alpha, dtype) for t, vi in zip(terms, v, strict=True)]


def _cex_additivity(e: Mapping[str, Any], dt: str) -> tuple[list[Any], list[Any]]:
    h, v = _vec(e, "h"), _vec(e, "v")
    a, b = fp(_scalar(e, "a"), F64), fp(_scalar(e, "b"), F64)
    lhs = _chain(_steer_vec(h, v, a, dt), v, b, dt)
    return lhs, _steer_vec(h, v, add64(a, b), dt)


def _cex_composition(e: Mapping[str, Any], dt: str) -> tuple[list[Any], list[Any]]:
    h, u, w = _vec(e, "h"), _vec(e, "u"), _vec(e, "w")
    a = fp(_scalar(e, "alpha"), F64)
    lhs = _chain(_steer_vec(h, u, a, dt), w, a, dt)
    rhs = [
        steer_fp(_lit(hi, dt), z3.fpAdd(RNE, _lit(ui, dt), _lit(wi, dt)), a, dt)
        for hi, ui, wi in zip(h, u, w, strict=True)
    ]
    return lhs, rhs


def _cex_commutation(e: Mapping[str, Any], dt: str) -> tuple[list[Any], list[Any]]:
    h, u, w = _vec(e, "h"), _vec(e, "u"), _vec(e, "w")
    a, b = fp(_scalar(e, "a"), F64), fp(_scalar(e, "b"), F64)
    lhs = _chain(_steer_vec(h, u, a, dt), w, b, dt)
    rhs = _chain(_steer_vec(h, w, b, dt), u, a, dt)
    return lhs, rhs


def _cex_scale(e: Mapping[str, Any], dt: str) -> tuple[list[Any], list[Any]]:
    h, v = _vec(e, "h"), _vec(e, "v")
    c, a = fp(_scalar(e, "c"), F64), fp(_scalar(e, "alpha"), F64)
    # fl_t(c * v): c and v are exact in float64 and their product is exact there (few bits).
    cv = [to(z3.fpMul(RNE, c, to(_lit(vi, dt), F64)), SORTS[dt]) for vi in v]
    lhs = [steer_fp(_lit(hi, dt), q, a, dt) for hi, q in zip(h, cv, strict=True)]
    rhs = _steer_vec(h, v, z3.fpMul(RNE, c, a), dt)
    return lhs, rhs


def _cex_zero_alpha(e: Mapping[str, Any], dt: str) -> tuple[list[Any], list[Any]]:
    """The *naive* arithmetic ``h + 0*v`` (what ops deliberately does not do) against ``h``."""
    h, v = _vec(e, "h"), _vec(e, "v")
    zero = fp(0.0, F32)
    naive = [
        z3.fpAdd(RNE, _lit(hi, dt), to(z3.fpMul(RNE, to(_lit(vi, dt), F32), zero), SORTS[dt]))
        for hi, vi in zip(h, v, strict=True)
    ]
    return naive, [_lit(hi, dt) for hi in h]


def _bitwise_differs(lhs: list[Any], rhs: list[Any]) -> bool:
    return any(
        z3.simplify(z3.fpToIEEEBV(a)).as_long() != z3.simplify(z3.fpToIEEEBV(b)).as_long()
        for a, b in zip(lhs, rhs, strict=True)
    )


# --------------------------------------------------------------------------- normalize (ground)


def normalize_fp(v: list[float], dtype: str) -> list[Any]:
    """``ops.normalize`` *without* its fixpoint rule, as ground FP terms.

    The exact power-of-two prescale (``frexp`` of the largest magnitude), the float64 sum of
    squares (left to right), ``sqrt``, the quotient, and one rounding to ``dtype``.

    Raises:
        ValueError: the zero vector.
    """
    max_abs = max(abs(x) for x in v)
    if max_abs == 0.0:
        raise ValueError("the zero vector has no direction")
    _, exponent = math.frexp(max_abs)
    scale = fp(2.0**-exponent, F64)
    scaled = [z3.fpMul(RNE, to(_lit(x, dtype), F64), scale) for x in v]  # exact: a power of two
    sumsq = z3.fpMul(RNE, scaled[0], scaled[0])
    for s in scaled[1:]:
        sumsq = z3.fpAdd(RNE, sumsq, z3.fpMul(RNE, s, s))
    norm = z3.fpSqrt(RNE, sumsq)
    return [to(z3.fpDiv(RNE, s, norm), SORTS[dtype]) for s in scaled]


def _sum_sq(values: list[Fraction]) -> Fraction:
    return sum((x * x for x in values), Fraction(0))


def _sqrt_upper(d: int) -> Fraction:
    r = math.isqrt(d)
    return Fraction(r) if r * r == d else Fraction(r + 1)


# --------------------------------------------------------------------------- the checks


def check_unit_sphere(entry: Mapping[str, Any]) -> CheckResult:
    """Exact unit norm fails after rounding; the bound ``|‖y‖ - 1| <= tol(dtype, d)`` is proved."""
    start = time.perf_counter()
    cex = entry["counterexample"]
    dtype = str(cex.get("dtype", "float32"))
    v = _vec(cex, "v")
    y = [z3.simplify(t) for t in normalize_fp(v, dtype)]
    yq = [ground(t) for t in y]
    s = _sum_sq(yq)
    observed = {"y": ",".join(_hex(ground_float(t)) for t in y), "norm_sq": f"{s.numerator}/{s.denominator}"}
    tol = unit_norm_tolerance_exact(FORMATS[dtype], len(v), _sqrt_upper(len(v)))
    within = (1 - tol) ** 2 <= s <= (1 + tol) ** 2
    details = [f"replay: ||y||^2 = {float(s)!r} (exact {observed['norm_sq']}), within tol: {within}"]
    parts: list[tuple[str, Status]] = []
    for fmt in BOUND_DTYPES[:3]:
        parts.append((f"bound[{fmt}, all d]", _unit_symbolic(fmt)))
        for d in (1, 2):
            parts.append((f"bound[{fmt}, d={d} direct]", _fp_bounds.unit_direct(fmt, d)))
    ok, status = _decide(
        "counterexample", [s != 1 and within and _observed_matches(cex, observed), *_proved([p for _, p in parts])]
    )
    details += [f"{n}: {p}" for n, p in parts]
    return CheckResult("f32.unit_sphere", ok, status, details, time.perf_counter() - start, observed)


def _unit_symbolic(fmt_name: str) -> Status:
    """:func:`_fp_bounds.unit_scalar` with ``d`` symbolic (``1 <= d <= 2**40``, ``s = sqrt(d)``)."""
    fmt = FORMATS[fmt_name]
    d, s = z3.Reals("d s")
    g = (d + 4) / q(2**53)
    nx, ne, ny, meas = z3.Reals("Nx Ne Ny M")
    hyps = [
        d >= 1,
        d <= 2**40,
        s >= 0,
        s * s == d,
        zabs(nx - 1) <= g,
        ne >= 0,
        ne <= q(fmt.u) * nx + s * q(fmt.eta),
        zabs(ny - nx) <= ne,
        ny >= 0,
        zabs(meas - ny) <= g * ny,
    ]
    return prove(zabs(meas - 1) <= q(fmt.u) + s * q(fmt.eta) + 4 * g, hyps)


def check_normalize_zero(entry: Mapping[str, Any]) -> CheckResult:
    """Holds: no non-zero float32 (or half) entry squares to zero in float64, so a vector is the
    zero vector iff its float64 norm is 0, and ops raises ZeroVectorError exactly then."""
    start = time.perf_counter()
    parts: list[tuple[str, Status]] = []
    for dt in HALF_DTYPES:
        x = z3.FP("x", SORTS[dt])
        x64 = to(x, F64)
        sq = z3.fpMul(RNE, x64, x64)
        parts.append((f"nonzero^2 > 0 [{dt}]", prove(z3.Not(z3.fpIsZero(sq)), [z3.Not(z3.fpIsZero(x)), _finite(x)])))
    ok, status = _decide("holds", _proved([p for _, p in parts]))
    return CheckResult("f32.normalize_zero", ok, status, [f"{n}: {p}" for n, p in parts], time.perf_counter() - start)


def _steer_search(kind: str) -> tuple[str, dict[str, str] | None]:
    h, v, u, w = z3.FPs("h v u w", F32)
    a, b = z3.FPs("a b", F32)
    a64, b64 = to(a, F64), to(b, F64)
    if kind == "additivity":
        lhs = steer_fp(steer_fp(h, v, a64), v, b64)
        rhs = steer_fp(h, v, add64(a64, b64))
        return _search(
            [_normal(h, v, a, b), _finite(lhs, rhs), z3.Not(z3.fpEQ(lhs, rhs))], [h, v, a, b], SEARCH_TACTICS[kind]
        )
    if kind == "composition":
        lhs = steer_fp(steer_fp(h, u, a64), w, a64)
        s = z3.fpAdd(RNE, u, w)
        rhs = steer_fp(h, s, a64)
        return _search(
            [_normal(h, u, w, a), _finite(lhs, rhs, s), z3.Not(z3.fpEQ(lhs, rhs))], [h, u, w, a], SEARCH_TACTICS[kind]
        )
    if kind == "commutation":
        lhs = steer_fp(steer_fp(h, u, a64), w, b64)
        rhs = steer_fp(steer_fp(h, w, b64), u, a64)
        return _search(
            [_normal(h, u, w, a, b), _finite(lhs, rhs), z3.Not(z3.fpEQ(lhs, rhs))],
            [h, u, w, a, b],
            SEARCH_TACTICS[kind],
        )
    if kind == "scale":
        c = fp(3.0, F32)  # a fixed c keeps the float64 product's multiplier circuit small
        cv = z3.fpMul(RNE, c, v)
        lhs = steer_fp(h, cv, a64)
        rhs = steer_fp(h, v, z3.fpMul(RNE, to(c, F64), a64))
        return _search(
            [_normal(h, v, a), _finite(lhs, rhs, cv), z3.Not(z3.fpEQ(lhs, rhs))], [h, v, a], SEARCH_TACTICS[kind]
        )
    if kind == "step":
        one = fp(1.0, F32)
        out = steer_fp(h, one, a64)
        diff = z3.fpSub(RNE, to(out, F64), to(h, F64))  # exact here: out and h are within a few ulps
        return _search(
            [_normal(h, a), _finite(out), z3.fpGT(z3.fpAbs(diff), z3.fpAbs(a64))], [h, a], SEARCH_TACTICS[kind]
        )
    if kind == "zero_alpha":
        zero = fp(0.0, F32)
        naive = z3.fpAdd(RNE, h, z3.fpMul(RNE, v, zero))
        return _search([_finite(h, v), z3.Not(naive == h)], [h, v], SEARCH_TACTICS[kind])
    raise ValueError(kind)


_EQUALITY_REPLAYS: dict[str, Callable[[Mapping[str, Any], str], tuple[list[Any], list[Any]]]] = {
    "additivity": _cex_additivity,
    "composition": _cex_composition,
    "commutation": _cex_commutation,
    "scale": _cex_scale,
}

_EQUALITY_BOUNDS: dict[str, Callable[[Any], Status]] = {
    "additivity": _fp_bounds.additivity,
    "composition": _fp_bounds.composition,
    "commutation": _fp_bounds.commutation,
    "scale": _fp_bounds.scale,
}


def _check_equality_law(kind: str, entry: Mapping[str, Any]) -> CheckResult:
    start = time.perf_counter()
    found, model = _steer_search(kind)
    cex = entry["counterexample"]
    violated, observed, replay = _replay_vectors(cex, _EQUALITY_REPLAYS[kind])
    parts = _bound_parts(_EQUALITY_BOUNDS[kind])
    details = [f"search: {found} {model or ''}".rstrip(), f"replay: violated={violated} {replay}"]
    details += [f"{n}: {p}" for n, p in parts]
    ok, status = _decide(
        "counterexample",
        [_found(found), violated and _observed_matches(cex, observed), *_proved([p for _, p in parts])],
    )
    return CheckResult(f"f32.{kind}", ok, status, details, time.perf_counter() - start, observed)


def check_additivity(entry: Mapping[str, Any]) -> CheckResult:
    """steer(steer(h,v,a),v,b) != steer(h,v,a+b) in float; bound :func:`bounds.additivity_bound`."""
    return _check_equality_law("additivity", entry)


def check_composition(entry: Mapping[str, Any]) -> CheckResult:
    """steer(steer(h,u,a),w,a) != steer(h,u+w,a) in float; bound :func:`bounds.composition_bound`."""
    return _check_equality_law("composition", entry)


def check_commutation(entry: Mapping[str, Any]) -> CheckResult:
    """The order of two vectors at one layer matters in float; bound :func:`bounds.commutation_bound`."""
    return _check_equality_law("commutation", entry)


def check_scale_covariance(entry: Mapping[str, Any]) -> CheckResult:
    """steer(h,c v,a) != steer(h,v,c a) in float; bound :func:`bounds.scale_bound`."""
    result = _check_equality_law("scale", entry)
    result.check_id = "f32.scale_covariance"
    return result


def _step_replay(cex: Mapping[str, Any]) -> tuple[Fraction, Fraction, Fraction, dict[str, str]]:
    """(‖steer - h‖², (|alpha| ‖v‖)², ‖h‖², observed) for a recorded safe-alpha counterexample."""
    dtype = str(cex.get("dtype", "float32"))
    h, v = _vec(cex, "h"), _vec(cex, "v")
    alpha = _scalar(cex, "alpha")
    out = [z3.simplify(t) for t in _steer_vec(h, v, fp(alpha, F64), dtype)]
    step = [ground(t) - Fraction(hi) for t, hi in zip(out, h, strict=True)]
    exact = Fraction(alpha) ** 2 * _sum_sq([Fraction(x) for x in v])
    observed = {"out": ",".join(_hex(ground_float(t)) for t in out)}
    return _sum_sq(step), exact, _sum_sq([Fraction(x) for x in h]), observed


def check_safe_alpha(entry: Mapping[str, Any]) -> CheckResult:
    """|alpha|‖v‖ <= rho‖h‖ does not imply ‖steer - h‖ <= rho‖h‖ in float (rounding of h + delta);
    the realised step obeys :func:`bounds.step_bound`."""
    start = time.perf_counter()
    found, model = _steer_search("step")
    cex = entry["counterexample"]
    step_sq, exact_sq, h_sq, observed = _step_replay(cex)
    rho = Fraction(float.fromhex(cex["inputs"]["rho"]))
    # premise |alpha|‖v‖ <= rho‖h‖ holds, conclusion ‖step‖ <= rho‖h‖ fails (squares, exact).
    violated = exact_sq <= rho**2 * h_sq and step_sq > rho**2 * h_sq
    parts = _bound_parts(_fp_bounds.step)
    details = [f"search: {found} {model or ''}".rstrip(), f"replay: violated={violated} ‖step‖²={float(step_sq)!r}"]
    details += [f"{n}: {p}" for n, p in parts]
    ok, status = _decide(
        "counterexample",
        [_found(found), violated and _observed_matches(cex, observed), *_proved([p for _, p in parts])],
    )
    return CheckResult("f32.safe_alpha", ok, status, details, time.perf_counter() - start, observed)


def check_perturbation_ratio(entry: Mapping[str, Any]) -> CheckResult:
    """The realised ‖steer - h‖/‖h‖ differs from |alpha|‖v‖/‖h‖ in float; both the step bound and
    the float64 rounding of ``perturbation_ratio`` itself (K_RATIO ulps) are proved."""
    start = time.perf_counter()
    cex = entry["counterexample"]
    step_sq, exact_sq, _, observed = _step_replay(cex)
    violated = step_sq != exact_sq
    parts = [*_bound_parts(_fp_bounds.step), ("ratio float64 rounding", _fp_bounds.ratio64())]
    details = [f"replay: violated={violated} ‖step‖²={float(step_sq)!r} (|alpha|‖v‖)²={float(exact_sq)!r}"]
    details += [f"{n}: {p}" for n, p in parts]
    ok, status = _decide(
        "counterexample", [violated and _observed_matches(cex, observed), *_proved([p for _, p in parts])]
    )
    return CheckResult("f32.perturbation_ratio", ok, status, details, time.perf_counter() - start, observed)


def check_alpha_max(entry: Mapping[str, Any]) -> CheckResult:
    """``safe_alpha_max`` (float64) can exceed rho‖h‖/‖v‖ by rounding; bound :func:`bounds.quotient_bound`."""
    start = time.perf_counter()
    cex = entry["counterexample"]
    rho, nh, nv = (float.fromhex(cex["inputs"][k]) for k in ("rho", "norm_h", "norm_v"))
    term = z3.fpDiv(RNE, z3.fpMul(RNE, fp(rho, F64), fp(nh, F64)), fp(nv, F64))
    amax = ground_float(z3.simplify(term))
    exact = Fraction(rho) * Fraction(nh) / Fraction(nv)
    violated = Fraction(amax) * Fraction(nv) > Fraction(rho) * Fraction(nh)
    within = abs(Fraction(amax) - exact) <= quotient_bound(exact, Fraction(nv))
    observed = {"alpha_max": _hex(amax)}
    parts = [("bound float64", _fp_bounds.alpha_max64())]
    details = [f"replay: alpha_max={amax!r} violated={violated} within={within}"] + [f"{n}: {p}" for n, p in parts]
    ok, status = _decide(
        "counterexample", [violated and within and _observed_matches(cex, observed), *_proved([p for _, p in parts])]
    )
    return CheckResult("f32.alpha_max", ok, status, details, time.perf_counter() - start, observed)


def check_ratio_scale(entry: Mapping[str, Any]) -> CheckResult:
    """ratio(a, c n_v, c n_h) != ratio(a, n_v, n_h) in float64; bound K_RATIO_SCALE u64 relative."""
    start = time.perf_counter()
    cex = entry["counterexample"]
    a, nv, nh, c = (float.fromhex(cex["inputs"][k]) for k in ("alpha", "norm_v", "norm_h", "c"))

    def ratio(nv_t: Any, nh_t: Any) -> Any:
        return z3.fpDiv(RNE, z3.fpMul(RNE, fp(abs(a), F64), nv_t), nh_t)

    cf = fp(c, F64)
    r0 = ground_float(z3.simplify(ratio(fp(nv, F64), fp(nh, F64))))
    r1 = ground_float(z3.simplify(ratio(z3.fpMul(RNE, cf, fp(nv, F64)), z3.fpMul(RNE, cf, fp(nh, F64)))))
    exact = abs(Fraction(a)) * Fraction(nv) / Fraction(nh)
    violated = r0 != r1
    within = abs(Fraction(r1) - Fraction(r0)) <= K_RATIO_SCALE * FORMATS["float64"].u * exact
    observed = {"ratio": _hex(r0), "ratio_scaled": _hex(r1)}
    parts = [("bound float64", _fp_bounds.ratio_scale64())]
    details = [f"replay: {r0!r} vs {r1!r} violated={violated} within={within}"] + [f"{n}: {p}" for n, p in parts]
    ok, status = _decide(
        "counterexample", [violated and within and _observed_matches(cex, observed), *_proved([p for _, p in parts])]
    )
    return CheckResult("f32.ratio_scale", ok, status, details, time.perf_counter() - start, observed)


def check_zero_alpha(entry: Mapping[str, Any]) -> CheckResult:
    """Holds bit-exactly because ops returns ``h`` for alpha == 0; the naive ``h + 0*v`` is refuted."""
    start = time.perf_counter()
    found, model = _steer_search("zero_alpha")
    cex = entry["naive_counterexample"]
    lhs, rhs = _cex_zero_alpha(cex, str(cex.get("dtype", "float32")))
    naive_differs = _bitwise_differs([z3.simplify(t) for t in lhs], rhs)
    observed = {"naive": ",".join(_hex(ground_float(z3.simplify(t))) for t in lhs)}
    # The implementation: for every finite h, v and both zeros, steer_fp returns h bit for bit.
    parts: list[tuple[str, Status]] = []
    for dt in BOUND_DTYPES:
        h, v = z3.FP("h", SORTS[dt]), z3.FP("v", SORTS[dt])
        for zero in (0.0, -0.0):
            parts.append(
                (f"implementation[{dt}, alpha={zero}]", prove(steer_fp(h, v, fp(zero, F64), dt) == h, [_finite(h, v)]))
            )
    details = [f"naive search: {found} {model or ''}".rstrip(), f"naive replay differs bitwise: {naive_differs}"]
    details += [f"{n}: {p}" for n, p in parts]
    ok, status = _decide(
        "holds", [_found(found), naive_differs and _observed_matches(cex, observed), *_proved([p for _, p in parts])]
    )
    return CheckResult("f32.zero_alpha", ok, status, details, time.perf_counter() - start, observed)


def _bitvec_fp(name: str, sort: Any) -> tuple[Any, Any]:
    """An FP variable built from its bit fields, and its negation (the sign bit flipped)."""
    ebits, sbits = sort.ebits(), sort.sbits()
    s = z3.BitVec(f"{name}_s", 1)
    e = z3.BitVec(f"{name}_e", ebits)
    m = z3.BitVec(f"{name}_m", sbits - 1)
    return z3.fpFP(s, e, m), z3.fpFP(~s, e, m)


def _prove_by_substitution(claim: Any, equation: Any) -> Status:
    """Prove ``claim`` under ``equation`` by eliminating the equation first (``solve-eqs``), so the
    solver never bit-blasts an adder to see that equal arguments give equal sums."""
    return prove(claim, [equation], tactics=("simplify", "solve-eqs", "simplify", "smt"))


def check_sign_symmetry(entry: Mapping[str, Any]) -> CheckResult:
    """Bit-exact: steer(h, -v, alpha) == steer(h, v, -alpha) for every input, every dtype.

    Proved as a chain of unsatisfiable FP queries that compose by congruence (the same ``fpAdd``
    of ``h`` and equal deltas): (1) rounding alpha to float32 commutes with negation; (2) the
    work-precision conversion of ``-v`` is ``-(v)``; (3) ``fl(x * -a) == fl(-x * a)`` (bit level);
    (4) rounding the product to the residual dtype commutes with negation; (5) ``-alpha`` is
    zero iff ``alpha`` is, so both sides take the same branch. SMT equality is bitwise on FP
    (signed zeros distinguished), so "holds" includes the sign of zero.
    """
    start = time.perf_counter()
    parts: list[tuple[str, Status]] = []
    alpha, neg_alpha = _bitvec_fp("alpha", F64)
    parts.append(("(1) fl32(-alpha) == -fl32(alpha)", prove(to(neg_alpha, F32) == z3.fpNeg(to(alpha, F32)))))
    x, neg_x = _bitvec_fp("x", F32)
    a, neg_a = _bitvec_fp("a", F32)
    parts.append(("(3) fl(x*(-a)) == fl((-x)*a)", prove(z3.fpMul(RNE, x, neg_a) == z3.fpMul(RNE, neg_x, a))))
    parts.append(("(5) zero(-alpha) == zero(alpha)", prove(z3.fpIsZero(neg_alpha) == z3.fpIsZero(alpha))))
    for dt in HALF_DTYPES:
        v, neg_v = _bitvec_fp(f"v{dt}", SORTS[dt])
        parts.append((f"(2) fl32(-v) == -fl32(v) [{dt}]", prove(to(neg_v, F32) == z3.fpNeg(to(v, F32)))))
        p = z3.FP(f"p{dt}", F32)
        negated_first = to(z3.fpNeg(p), SORTS[dt])
        parts.append((f"(4) fl_t(-p) == -fl_t(p) [{dt}]", prove(negated_first == z3.fpNeg(to(p, SORTS[dt])))))
        # congruence: equal deltas give equal sums (the step that glues the chain).
        h, d1, d2 = z3.FPs(f"h{dt} d1{dt} d2{dt}", SORTS[dt])
        same_sum = z3.fpAdd(RNE, h, d1) == z3.fpAdd(RNE, h, d2)
        parts.append((f"congruence [{dt}]", _prove_by_substitution(same_sum, d1 == d2)))
    ok, status = _decide("holds", _proved([p for _, p in parts]))
    return CheckResult("f32.sign_symmetry", ok, status, [f"{n}: {p}" for n, p in parts], time.perf_counter() - start)


def check_normalize_idempotent(entry: Mapping[str, Any]) -> CheckResult:
    """Holds bit-exactly because of ops.normalize's fixpoint rule; the naive rule is refuted.

    Replay: the naive normalisation (no fixpoint rule) of the recorded vector, applied twice,
    changes a bit. The fixpoint rule returns a vector whose float64 norm is within
    ``unit_norm_tolerance`` of 1 unchanged; the first application's output satisfies that by the
    proved unit-sphere bound (so the second application is the identity). Also replayed here.
    """
    start = time.perf_counter()
    cex = entry["naive_counterexample"]
    dtype = str(cex.get("dtype", "float32"))
    v = _vec(cex, "v")
    once = [ground_float(z3.simplify(t)) for t in normalize_fp(v, dtype)]
    twice = [ground_float(z3.simplify(t)) for t in normalize_fp(once, dtype)]
    naive_differs = once != twice
    s = _sum_sq([Fraction(x) for x in once])
    tol = unit_norm_tolerance_exact(FORMATS[dtype], len(v), _sqrt_upper(len(v)))
    fixpoint_applies = (1 - tol) ** 2 <= s <= (1 + tol) ** 2
    observed = {"once": ",".join(map(_hex, once)), "twice_naive": ",".join(map(_hex, twice))}
    details = [f"naive: once={once} twice={twice}", f"fixpoint rule applies to the first output: {fixpoint_applies}"]
    unit = _unit_symbolic(dtype)
    details.append(f"unit bound (all d): {unit}")
    ok, status = _decide(
        "holds", [naive_differs and fixpoint_applies and _observed_matches(cex, observed), *_proved([unit])]
    )
    return CheckResult("f32.normalize_idempotent", ok, status, details, time.perf_counter() - start, observed)


CHECKS: dict[str, Callable[[Mapping[str, Any]], CheckResult]] = {
    "f32.unit_sphere": check_unit_sphere,
    "f32.normalize_zero": check_normalize_zero,
    "f32.safe_alpha": check_safe_alpha,
    "f32.alpha_max": check_alpha_max,
    "f32.perturbation_ratio": check_perturbation_ratio,
    "f32.zero_alpha": check_zero_alpha,
    "f32.additivity": check_additivity,
    "f32.composition": check_composition,
    "f32.commutation": check_commutation,
    "f32.sign_symmetry": check_sign_symmetry,
    "f32.scale_covariance": check_scale_covariance,
    "f32.normalize_idempotent": check_normalize_idempotent,
    "f32.ratio_scale": check_ratio_scale,
}


def run_check(check_id: str, float_entry: Mapping[str, Any]) -> CheckResult:
    """Run the float check ``check_id`` against the registry's ``float`` table of a property.

    ``ok`` additionally requires the check's status to equal the recorded ``status``.

    Raises:
        KeyError: unknown check id.
    """
    result = CHECKS[check_id](float_entry)
    recorded = float_entry.get("status")
    if result.status == "unknown":
        result.ok = False
        result.details.append(f"undecided within the rlimit budget: not a verdict (registry records {recorded!r})")
    elif recorded != result.status:
        result.ok = False
        result.details.append(f"registry records status {recorded!r}, the check finds {result.status!r}")
    return result
