"""steering_core.strategies draws exactly representable values of every advertised kind."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from steering_core.formal.bounds import format_of
from steering_core.strategies import DTYPES, alphas, round_to, scalars, scales, vectors

DTYPE = pytest.mark.parametrize("dtype", DTYPES, ids=[str(d).removeprefix("torch.") for d in DTYPES])


@DTYPE
@pytest.mark.parametrize("kind", ["zero", "subnormal", "tiny", "moderate", "huge"])
@settings(max_examples=25, deadline=None, derandomize=True)
@given(data=st.data())
def test_scalars_are_representable_and_of_their_kind(dtype: torch.dtype, kind: str, data: st.DataObject) -> None:
    x = data.draw(scalars(dtype, (kind,)))  # type: ignore[arg-type]
    assert round_to(x, dtype) == x
    smallest_normal = 2.0 ** format_of(dtype).emin
    magnitude = abs(x)
    if kind == "zero":
        assert magnitude == 0
    elif kind == "subnormal":
        assert 0 < magnitude < smallest_normal
    elif kind == "huge":
        assert magnitude >= torch.finfo(dtype).max / 1100
    else:
        assert magnitude >= smallest_normal


@DTYPE
@settings(max_examples=25, deadline=None, derandomize=True)
@given(data=st.data())
def test_nonzero_vectors_have_a_direction(dtype: torch.dtype, data: st.DataObject) -> None:
    v = data.draw(vectors(dtype, nonzero=True))
    assert v.dtype == dtype and v.dim() == 1 and bool((v != 0).any())


@settings(max_examples=50, deadline=None, derandomize=True)
@given(a=alphas(), c=scales())
def test_alphas_and_scales_are_bounded(a: float, c: float) -> None:
    assert abs(a) <= 8.0 and 0 < abs(c) <= 4.0
    assert round_to(c, torch.float32) == c
