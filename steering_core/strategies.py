"""Hypothesis strategies for steering inputs, for property tests of steering code.

Every strategy draws values that are *exactly representable* in the requested dtype (float32,
float16, bfloat16, float64), mixing the kinds of entries that break floating-point laws:

* ``zero``: ``+0.0`` and ``-0.0``;
* ``subnormal``: ``k * 2**(emin - p + 1)`` for ``1 <= k < 2**(p-1)`` (gradual underflow);
* ``tiny``: normal numbers within a few binades of the smallest normal;
* ``moderate``: magnitudes in ``[2**-8, 2**8]`` (the steering working range);
* ``huge``: magnitudes in ``[max/1024, max/64]``: large enough to exercise the top binades,
  small enough that ``|alpha| <= 8`` times a sum of two of them stays finite.

Example::

    from hypothesis import given
    from steering_core.strategies import residuals, vectors, alphas

    @given(h=residuals(torch.float16, width=8), v=vectors(torch.float16, width=8), a=alphas())
    def test_something(h, v, a): ...
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
from hypothesis import strategies as st

from steering_core.bounds import format_of

Kind = Literal["zero", "subnormal", "tiny", "moderate", "huge"]
ALL_KINDS: tuple[Kind, ...] = ("zero", "subnormal", "tiny", "moderate", "huge")
DTYPES: tuple[torch.dtype, ...] = (torch.float32, torch.float16, torch.bfloat16)
"""The residual dtypes the property tests cover."""

ALPHA_MAX = 8.0
"""Largest ``|alpha|`` drawn by :func:`alphas` (the huge-entry range is sized for it)."""


def round_to(value: float, dtype: torch.dtype) -> float:
    """``value`` rounded (to nearest even) to ``dtype``, returned as the exact Python float."""
    return float(torch.tensor(value, dtype=torch.float64).to(dtype).item())


def _rounder(dtype: torch.dtype) -> Callable[[float], float]:
    def rounded(value: float) -> float:
        return round_to(value, dtype)

    return rounded


def _times(factor: float) -> Callable[[int], float]:
    def scaled(k: int) -> float:
        return k * factor

    return scaled


def _max_finite(dtype: torch.dtype) -> float:
    return float(torch.finfo(dtype).max)


def scalars(dtype: torch.dtype, kinds: tuple[Kind, ...] = ALL_KINDS) -> st.SearchStrategy[float]:
    """Floats exactly representable in ``dtype``, drawn from the given ``kinds`` (see module doc).

    Raises:
        ValueError: ``kinds`` is empty or names an unknown kind.
    """
    if not kinds:
        raise ValueError("kinds must not be empty")
    fmt = format_of(dtype)
    smallest_normal = 2.0**fmt.emin
    min_sub = 2.0 ** (fmt.emin - fmt.precision + 1)
    top = _max_finite(dtype)
    options: list[st.SearchStrategy[float]] = []
    for kind in kinds:
        if kind == "zero":
            options.append(st.sampled_from([0.0, -0.0]))
        elif kind == "subnormal":
            options.append(st.integers(1, 2 ** (fmt.precision - 1) - 1).map(_times(min_sub)))
        elif kind == "tiny":
            options.append(st.floats(smallest_normal, smallest_normal * 64).map(_rounder(dtype)))
        elif kind == "moderate":
            options.append(st.floats(2.0**-8, 2.0**8).map(_rounder(dtype)))
        elif kind == "huge":
            options.append(st.floats(top / 1024, top / 64).map(_rounder(dtype)))
        else:
            raise ValueError(f"unknown kind {kind!r}")
    magnitudes = st.one_of(*options)
    return st.tuples(magnitudes, st.booleans()).map(lambda pair: -pair[0] if pair[1] else pair[0])


def widths(min_width: int = 1, max_width: int = 8) -> st.SearchStrategy[int]:
    """Hidden sizes for generated vectors."""
    return st.integers(min_width, max_width)


def vectors(
    dtype: torch.dtype,
    width: int | None = None,
    *,
    min_width: int = 1,
    max_width: int = 8,
    nonzero: bool = False,
    kinds: tuple[Kind, ...] = ALL_KINDS,
) -> st.SearchStrategy[torch.Tensor]:
    """1-D steering directions in ``dtype`` (``width`` entries, or a drawn width).

    ``nonzero=True`` guarantees at least one non-zero entry (a direction to normalise).
    """
    size = st.just(width) if width is not None else widths(min_width, max_width)
    elements = scalars(dtype, kinds)

    def build(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=torch.float64).to(dtype)

    def draw_list(n: int) -> st.SearchStrategy[list[float]]:
        base = st.lists(elements, min_size=n, max_size=n)
        if not nonzero:
            return base
        nonzero_kinds = tuple(k for k in kinds if k != "zero") or ("moderate",)
        return st.tuples(base, st.integers(0, n - 1), scalars(dtype, nonzero_kinds)).map(
            lambda t: [*t[0][: t[1]], t[2], *t[0][t[1] + 1 :]]
        )

    return size.flatmap(draw_list).map(build)


def residuals(
    dtype: torch.dtype,
    width: int,
    *,
    min_rows: int = 1,
    max_rows: int = 3,
    kinds: tuple[Kind, ...] = ALL_KINDS,
) -> st.SearchStrategy[torch.Tensor]:
    """Residual-stream slices of shape ``(rows, width)`` in ``dtype``."""
    rows = st.integers(min_rows, max_rows)
    elements = scalars(dtype, kinds)

    def draw(r: int) -> st.SearchStrategy[torch.Tensor]:
        def build(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float64).reshape(r, width).to(dtype)

        return st.lists(elements, min_size=r * width, max_size=r * width).map(build)

    return rows.flatmap(draw)


def alphas(max_abs: float = ALPHA_MAX, *, allow_zero: bool = True, allow_tiny: bool = True) -> st.SearchStrategy[float]:
    """Steering coefficients: finite float64 values with ``|alpha| <= max_abs``.

    Mixes ``0.0``/``-0.0`` (when ``allow_zero``), tiny magnitudes down to ``1e-40`` (they round to
    float32 subnormals or zero, when ``allow_tiny``), exact short binary fractions and arbitrary
    doubles.

    Raises:
        ValueError: ``max_abs`` not positive and finite.
    """
    if not (math.isfinite(max_abs) and max_abs > 0):
        raise ValueError("max_abs must be positive and finite")
    options: list[st.SearchStrategy[float]] = [
        st.floats(-max_abs, max_abs, allow_nan=False, allow_infinity=False),
        st.tuples(st.integers(-64, 64), st.integers(0, 6))
        .map(lambda t: t[0] / 2.0 ** t[1])
        .filter(lambda a: abs(a) <= max_abs),
    ]
    if allow_zero:
        options.append(st.sampled_from([0.0, -0.0]))
    if allow_tiny:
        options.append(st.floats(1e-40, 1e-6).flatmap(lambda x: st.sampled_from([x, -x])))
    return st.one_of(*options)


def scales(max_abs: float = 4.0) -> st.SearchStrategy[float]:
    """Scale factors ``c = ±k * 2**e`` (odd ``k <= 15``) with ``|c| <= max_abs``.

    Few significand bits, so ``c * v`` is exact in float64 for every supported dtype and
    ``c`` is exact in float32: the one rounding of ``fl(c v)`` is the only one.
    """
    return (
        st.tuples(st.sampled_from([1, 3, 5, 7, 9, 11, 13, 15]), st.integers(-6, 2), st.booleans())
        .map(lambda t: (-1.0 if t[2] else 1.0) * t[0] * 2.0 ** t[1])
        .filter(lambda c: abs(c) <= max_abs)
    )


def positive_scales() -> st.SearchStrategy[float]:
    """Scale factors ``c > 0`` for scale-invariance laws (any positive finite double in [2**-10, 2**10])."""
    return st.floats(2.0**-10, 2.0**10)
