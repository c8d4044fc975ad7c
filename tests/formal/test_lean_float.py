"""The float bounds of steering_core.formal.bounds rest on kernel-checked Lean theorems.

lean4/Kernel/Float.lean proves each bound for symbolic units under premises (every unit at most
``U = û``, ``64 U ≤ 1``, the float64 sum's combined unit at most ``U + U²``, ...). These tests
check (1) that the kernel checked those theorems, (2) that every dtype's units meet the
premises, with exact rationals, and (3) that each Lean conclusion is the formula bounds.py uses.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import pytest

from steering_core.formal import bounds, lean_kernel

FLOAT_THEOREMS = {
    # stated directly: `(U + (U + (U + U))) |A| + U |h| + (P + P) + (N + N)`, premise 4 U ≤ 1
    "SteeringFloat.step_bound": (bounds.K_STEP, "mul (add U (add U (add U U))) (abs A)"),
    "SteeringFloat.additivity_bound": (bounds.K_ADDITIVITY, "pU n8"),
    "SteeringFloat.composition_bound": (bounds.K_COMPOSITION, "pU n9"),
    "SteeringFloat.commutation_bound": (bounds.K_COMMUTATION, "pU n5"),
    "SteeringFloat.scale_bound": (bounds.K_SCALE, "pU n8"),
    "SteeringFloat.unit_norm_bound": (None, ""),
    "SteeringFloat.quotient_bound": (bounds.K_RATIO, "pU n3"),
}
DTYPES = tuple(bounds.FORMATS)


def _statement(name: str) -> str:
    source = (lean_kernel.KERNEL_DIR / "Float.lean").read_text(encoding="utf-8")
    short = name.rpartition(".")[2]
    start = source.index(f"theorem {short} ")
    return source[start : source.index(":=", start)]


@pytest.fixture(scope="module")
def run() -> lean_kernel.KernelRun:
    try:
        lean_kernel.verified_library()
    except lean_kernel.LeanKernelUnavailable as error:
        pytest.skip(f"Lean kernel not installed ({error}); `make lean` installs it")
    return lean_kernel.kernel_run()


@pytest.mark.parametrize("name", sorted(FLOAT_THEOREMS))
def test_the_kernel_checks_the_float_bound(run: lean_kernel.KernelRun, name: str) -> None:
    assert run.status_of(name) == "checked", run.theorems.get(name)
    assert run.theorems[name].axioms == ()


@pytest.mark.parametrize("name", sorted(k for k, v in FLOAT_THEOREMS.items() if v[0] is not None))
def test_the_lean_constant_is_the_one_bounds_uses(name: str) -> None:
    constant, token = FLOAT_THEOREMS[name]
    statement = _statement(name)
    assert token in statement, (name, constant)
    # every U-coefficient in the conclusion is that constant (`step_bound` states 4 û |A| + û |h|)
    assert set(re.findall(r"pU n(\d)", statement)) <= {str(constant)}


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_meets_the_premises(dtype: str) -> None:
    r = bounds.steer_rounding(dtype)
    big_u = r.u_hat
    assert 64 * big_u <= 1
    for unit in (r.u_alpha, r.u_prod, r.u_add, r.u_vec, r.u64):
        assert 0 <= unit <= big_u
    # the float64 sum a + b, then rounded to work precision (additivity)
    assert r.u_sum <= big_u + big_u**2
    # c * alpha in float64, then to work precision (scale)
    assert r.u_alpha + r.u64 <= big_u + big_u**2
    # eta_a * eta_vec <= U * eta_p (scale: the alpha rounding of fl_t(c v))
    assert r.eta_alpha * r.eta_vec <= big_u * r.eta_prod
    # commutation is stated with U = u_add
    assert 64 * r.u_add <= 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", [1, 2, 64, 896, 4096, 2**20])
def test_unit_norm_premise_holds(dtype: str, d: int) -> None:
    fmt = bounds.format_of(dtype)
    g = Fraction(d + 4, 2**53)
    sqrt_d = Fraction(math.isqrt(d) + 1)  # an upper bound of sqrt(d)
    assert g + 3 * fmt.u + sqrt_d * fmt.eta <= 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_lean_conclusions_are_the_bounds_py_formulas(dtype: str) -> None:
    """With U = û, N = η_a|v|, P = η_p, each Lean linear form equals the bounds.py function."""
    r = bounds.steer_rounding(dtype)
    big_u = r.u_hat
    h, av, bv, v, au, aw, u, w = (Fraction(x) for x in (3, 5, 7, 2, 11, 13, 17, 19))
    ident = Fraction

    lean_add = 8 * big_u * (h + av + bv) + 4 * r.eta_prod + 4 * (r.eta_alpha * v)
    assert bounds.additivity_bound(r, h, av, bv, v, ident) == lean_add
    lean_comp = 9 * big_u * (h + au + aw) + 4 * r.eta_prod + 4 * (r.eta_alpha * (u + w))
    assert bounds.composition_bound(r, h, au, aw, u, w, ident) == lean_comp
    lean_step = 4 * big_u * av + big_u * h + 2 * r.eta_prod + 2 * (r.eta_alpha * v)
    assert bounds.step_bound(r, h, av, v, ident) == lean_step
    lean_comm = 5 * r.u_add * (h + au + aw)
    assert bounds.commutation_bound(r, h, au, aw, ident) == lean_comm
    cav, cv, a_abs = Fraction(23), Fraction(29), Fraction(31)
    e1 = r.eta_vec * a_abs
    e2 = (r.eta_alpha + r.eta64) * (v + cv)
    lean_scale = 8 * big_u * (h + cav) + 2 * e1 + 4 * e2 + 4 * r.eta_prod
    assert bounds.scale_bound(r, h, cav, v, cv, a_abs, ident) == lean_scale


def test_quotient_bound_is_the_lean_form() -> None:
    """float64 quotients: U = u64, η = η64, X = p q / n, Y = 1 / n (`quotient_bound` in Lean)."""
    assert bounds.K_ALPHA_MAX == bounds.K_RATIO
    f64 = bounds.FORMATS["float64"]
    assert 64 * f64.u <= 1
    exact, n = Fraction(7, 3), Fraction(5, 2)
    lean = 3 * f64.u * exact + 2 * f64.eta + 2 * f64.eta * (1 / n)
    assert bounds.quotient_bound(exact, n) == lean
