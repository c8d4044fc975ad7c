"""SteeringVector arithmetic and conversions, and typed errors for bad input."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from steering_core.errors import (
    DtypeMismatchError,
    InvalidParameterError,
    LayerOutOfRangeError,
    NonFiniteError,
    UnknownStyleError,
    WidthMismatchError,
    ZeroVectorError,
)
from steering_core.ops import normalize
from steering_core.steer import hook_snapshot, steer
from steering_core.styles import get_style
from steering_core.vector import SteeringVector


def _sv(seed: int, layers: tuple[int, ...] = (1, 2), scale: float = 1.0) -> SteeringVector:
    gen = torch.Generator().manual_seed(seed)
    return SteeringVector(
        directions={x: torch.randn(64, generator=gen) * scale for x in layers},
        hidden_size=64,
        num_layers=4,
        model_name="tiny",
        style="terse",
    )


def test_arithmetic_is_layerwise() -> None:
    u, w = _sv(1), _sv(2, layers=(2, 3))
    total = u + w
    assert total.layer_indices == [1, 2, 3]
    assert torch.equal(total[1], u[1]) and torch.equal(total[3], w[3])
    assert torch.equal(total[2], u[2] + w[2])
    assert torch.equal((u - u)[1], torch.zeros(64))
    assert torch.equal((-u)[2], -u[2])
    assert torch.equal((2.5 * u)[1], u[1] * 2.5) and torch.equal((u * 2.5)[1], u[1] * 2.5)


def test_norms_normalized_select_and_to() -> None:
    u = _sv(1)
    assert math.isclose(u.norm(1), float(u[1].double().norm()), rel_tol=1e-12)
    assert all(abs(n - 1) < 1e-6 for n in u.normalized().norms().values())
    assert u.select(2).layer_indices == [2]
    half = u.to(dtype=torch.bfloat16)
    assert half.dtype == torch.bfloat16 and u.dtype == torch.float32
    assert u.describe()["layers"] == [1, 2]


def test_to_refuses_an_overflowing_cast() -> None:
    with pytest.raises(NonFiniteError):
        _sv(1, scale=1e6).to(dtype=torch.float16)


@pytest.mark.parametrize(
    ("make", "error", "param"),
    [
        (
            lambda: SteeringVector(directions={0: torch.full((64,), float("nan"))}, hidden_size=64),
            NonFiniteError,
            "directions[0]",
        ),
        (lambda: SteeringVector(directions={0: torch.ones(63)}, hidden_size=64), WidthMismatchError, "directions[0]"),
        (
            lambda: SteeringVector(directions={9: torch.ones(64)}, hidden_size=64, num_layers=4),
            LayerOutOfRangeError,
            "directions",
        ),
        (lambda: SteeringVector(directions={}, hidden_size=64), InvalidParameterError, "directions"),
        (
            lambda: SteeringVector(directions={0: torch.ones(64, dtype=torch.int64)}, hidden_size=64),
            DtypeMismatchError,
            "directions[0]",
        ),
        (lambda: _sv(1) * float("inf"), NonFiniteError, "scalar"),
        (lambda: _sv(1) + SteeringVector(directions={0: torch.ones(32)}, hidden_size=32), WidthMismatchError, "other"),
    ],
)
def test_vector_construction_errors(make: Any, error: type[Exception], param: str) -> None:
    with pytest.raises(error) as info:
        make()
    assert str(info.value).startswith(param)


def _tiny() -> Any:
    from tests.conftest import make_tiny_model

    return make_tiny_model("qwen3")


@pytest.mark.parametrize(
    ("vector", "alpha", "layers", "error", "param"),
    [
        (torch.full((64,), float("nan")), 1.0, 1, NonFiniteError, "vector"),
        (torch.tensor([float("inf")] + [0.0] * 63), 1.0, 1, NonFiniteError, "vector"),
        (torch.ones(65), 1.0, 1, WidthMismatchError, "vector"),
        (torch.ones(64), 1.0, 4, LayerOutOfRangeError, "layers"),
        (torch.ones(64), 1.0, -1, LayerOutOfRangeError, "layers"),
        (torch.ones(64), float("nan"), 1, NonFiniteError, "alpha"),
        (torch.ones(64), float("inf"), 1, NonFiniteError, "alpha"),
        (torch.ones(64), "1", 1, InvalidParameterError, "alpha"),
        (torch.ones(64), 1.0, None, InvalidParameterError, "layers"),
        (torch.ones(64, dtype=torch.int32), 1.0, 1, DtypeMismatchError, "vector"),
    ],
)
def test_steer_rejects_bad_input_before_installing(
    vector: torch.Tensor, alpha: Any, layers: Any, error: type[Exception], param: str
) -> None:
    model = _tiny()
    with pytest.raises(error) as info, steer(model, vector, alpha, layers=layers):
        pass
    assert str(info.value).startswith(param)
    assert hook_snapshot(model) == {}


def test_multi_layer_vector_needs_explicit_layers() -> None:
    with pytest.raises(InvalidParameterError, match="layers"), steer(_tiny(), _sv(1), 1.0):
        pass


def test_unknown_positions_and_style() -> None:
    with pytest.raises(InvalidParameterError, match="positions"), steer(_tiny(), torch.ones(64), 1.0, 1, "later"):  # type: ignore[arg-type]
        pass
    with pytest.raises(UnknownStyleError, match="style: unknown style 'grumpy'; known styles: terse"):
        get_style("grumpy")


def test_normalise_zero_is_an_error() -> None:
    with pytest.raises(ZeroVectorError, match=r"^vector"):
        normalize(torch.zeros(8))
