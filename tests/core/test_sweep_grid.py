"""SweepGrid: the one parameter object of a sweep, validated once for both sweep paths.

``alpha_sweep`` (in process) and ``sweep_grid`` (cells on an executor) take the same grid, or
the same parameters flat; a bad parameter is refused identically by both, before any model or
executor is touched (the tests pass neither a real model nor an execution).
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from steering_core.diagnose import LayerNorms
from steering_core.errors import InvalidParameterError, LayerOutOfRangeError, NonFiniteError
from steering_core.execute.grids import sweep_grid
from steering_core.sweep import SweepCell, SweepGrid, alpha_sweep
from steering_core.vector import SteeringVector

PROMPTS = ["What is a mutex?", "Explain recursion."]


def _vector() -> SteeringVector:
    gen = torch.Generator().manual_seed(0)
    return SteeringVector(
        directions={1: torch.randn(8, generator=gen), 2: torch.randn(8, generator=gen)}, hidden_size=8, style="test"
    )


def _norms(*layers: int) -> list[LayerNorms]:
    return [
        LayerNorms(layer=x, median_norm=10.0, mean_norm=10.0, first_token_norm=10.0, spread=1.0, n_positions=4)
        for x in layers
    ]


VECTOR = _vector()
GOOD: dict[str, Any] = {
    "vector": VECTOR,
    "layers": [1, 2],
    "alphas": [0, 0.5, -4],
    "prompts": PROMPTS,
    "norms": _norms(1, 2),
    "max_new_tokens": 6,
    "batch_size": 2,
}

BAD: list[tuple[str, Any, type[InvalidParameterError]]] = [
    ("vector", torch.ones(8), InvalidParameterError),
    ("layers", [], InvalidParameterError),
    ("layers", [1, 1], InvalidParameterError),
    ("layers", [3], LayerOutOfRangeError),
    ("layers", ["1"], LayerOutOfRangeError),
    ("alphas", [], InvalidParameterError),
    ("alphas", [0.5, 0.5], InvalidParameterError),
    ("alphas", [math.nan], NonFiniteError),
    ("alphas", [True], InvalidParameterError),
    ("prompts", "one string", InvalidParameterError),
    ("prompts", [], InvalidParameterError),
    ("prompts", ["ok", 3], InvalidParameterError),
    ("norms", _norms(1), InvalidParameterError),
    ("norms", [{"layer": 1}], InvalidParameterError),
    ("max_new_tokens", 0, InvalidParameterError),
    ("max_new_tokens", 2.0, InvalidParameterError),
    ("batch_size", 0, InvalidParameterError),
    ("batch_size", True, InvalidParameterError),
    ("positions", "every", InvalidParameterError),
]


def _refusal(call: Any) -> tuple[type[BaseException], str, str]:
    with pytest.raises(InvalidParameterError) as caught:
        call()
    return type(caught.value), caught.value.parameter, str(caught.value)


def _no_model() -> Any:
    """A loaded-model duck type whose model is never reached (validation comes first)."""
    return SimpleNamespace(model=None, tokenizer=None)


@pytest.mark.parametrize(("name", "value", "error"), BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_both_sweep_paths_refuse_a_bad_parameter_identically(
    name: str, value: Any, error: type[InvalidParameterError]
) -> None:
    fields = {**GOOD, name: value}
    flat = {k: v for k, v in fields.items() if k != "vector"}
    direct = _refusal(lambda: SweepGrid(**fields))
    in_process = _refusal(lambda: alpha_sweep(_no_model(), fields["vector"], **flat))
    on_executor = _refusal(lambda: sweep_grid(None, None, fields["vector"], **flat))  # type: ignore[arg-type]
    assert direct == in_process == on_executor
    assert direct[0] is error and direct[1].split("[")[0] == name


def test_the_grid_stores_tuples_and_float_alphas_in_the_order_given() -> None:
    grid = SweepGrid(**GOOD)
    assert grid.layers == (1, 2) and grid.prompts == tuple(PROMPTS) and grid.norms == tuple(GOOD["norms"])
    assert grid.alphas == (0.0, 0.5, -4.0) and all(type(a) is float for a in grid.alphas)
    assert grid.positions == "all"
    assert grid.points == [(1, 0.0), (1, 0.5), (1, -4.0), (2, 0.0), (2, 0.5), (2, -4.0)]
    with pytest.raises(AttributeError):
        grid.layers = (1,)  # type: ignore[misc]


def test_alphas_may_be_any_iterable_of_numbers() -> None:
    """A numpy array (float64) or a generator works as a list does (the old alpha_sweep iterated them)."""
    import numpy as np

    assert SweepGrid(**{**GOOD, "alphas": np.array([0.0, 0.5, -4.0])}).alphas == (0.0, 0.5, -4.0)
    assert SweepGrid(**{**GOOD, "alphas": (a for a in (0, 0.5))}).alphas == (0.0, 0.5)
    for bad in ("0.5", {0.5: 1}, 0.5):
        with pytest.raises(InvalidParameterError, match="alphas"):
            SweepGrid(**{**GOOD, "alphas": bad})


def test_every_flat_spelling_builds_the_same_grid() -> None:
    grid = SweepGrid(**GOOD)
    order = ("layers", "alphas", "prompts", "norms", "max_new_tokens", "batch_size")
    positional = tuple(GOOD[k] for k in order)
    keywords = {k: v for k, v in GOOD.items() if k != "vector"}
    assert SweepGrid.from_call("f", grid, (), {}, order) is grid
    assert SweepGrid.from_call("f", VECTOR, positional, {}, order) == grid
    assert SweepGrid.from_call("f", VECTOR, positional[:4], {"batch_size": 2, "max_new_tokens": 6}, order) == grid
    assert SweepGrid.from_call("f", None, (), dict(keywords, vector=VECTOR), order) == grid


@pytest.mark.parametrize(
    ("grid", "args", "keywords", "match"),
    [
        ("grid", ([1],), {}, r"f\(\) got a SweepGrid and also grid parameters \['layers'\]"),
        ("grid", (), {"positions": "prompt"}, r"also grid parameters \['positions'\]"),
        (VECTOR, tuple(range(7)), {}, r"at most 6 grid parameters"),
        (VECTOR, ([1],), {"layers": [1]}, r"multiple values for argument 'layers'"),
        (VECTOR, (), {"on_stop": None}, r"unexpected keyword argument 'on_stop'"),
        (None, (), {"layers": [1]}, r"missing the grid"),
    ],
)
def test_a_mixed_or_unknown_call_form_is_a_type_error(
    grid: Any, args: tuple[Any, ...], keywords: dict[str, Any], match: str
) -> None:
    order = ("layers", "alphas", "prompts", "norms", "max_new_tokens", "batch_size")
    given = SweepGrid(**GOOD) if grid == "grid" else grid
    with pytest.raises(TypeError, match=match):
        SweepGrid.from_call("f", given, args, keywords, order)


def test_both_paths_refuse_a_grid_with_flat_parameters_too() -> None:
    grid = SweepGrid(**GOOD)
    with pytest.raises(TypeError, match=r"alpha_sweep\(\) got a SweepGrid"):
        alpha_sweep(_no_model(), grid, batch_size=4)
    with pytest.raises(TypeError, match=r"sweep_grid\(\) got a SweepGrid"):
        sweep_grid(None, None, grid, [1])  # type: ignore[arg-type]


def test_collect_judges_in_grid_order_and_reuses_the_baseline_at_alpha_zero() -> None:
    grid = SweepGrid(**GOOD)
    baseline = ["a mutex guards data", "a function calling itself"]
    asked: list[tuple[int, float]] = []
    seen: list[SweepCell] = []

    def answers(layer: int, alpha: float) -> list[str]:
        asked.append((layer, alpha))
        return list(baseline) if alpha > 0 else ["", ""]

    result = grid.collect(baseline, answers, seen.append)
    assert asked == [p for p in grid.points if p[1] != 0.0]
    assert [(c.layer, c.alpha) for c in result.cells] == grid.points
    assert seen == result.cells
    assert [c.phase for c in result.cells] == ["dead", "dead", "collapse"] * 2
    assert result.cells[2].ratio == pytest.approx(4.0 * VECTOR.norm(1) / 10.0)
    assert result.style == "test" and result.prompts == PROMPTS and result.max_new_tokens == 6
