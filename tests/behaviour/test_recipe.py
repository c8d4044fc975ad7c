"""Recipe search plumbing on a tiny random model (no behaviour is claimed: the model has no style)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from steering_core.behaviour.recipe import (
    ExtractionRecipe,
    candidates,
    layer_alphas,
    recipe_plan,
    recipe_vector,
    search,
)
from steering_core.behaviour.session import Session
from steering_core.errors import InvalidParameterError
from steering_core.models import LoadedModel
from steering_core.steer import hook_snapshot
from tests.conftest import make_tiny_model


@pytest.fixture
def session(tokenizer: Any) -> Session:
    lm = LoadedModel(model=make_tiny_model("qwen3"), tokenizer=tokenizer, name="tiny-qwen3", source="test")
    return Session(lm, max_new_tokens=4)


def test_candidates_change_one_factor_and_clip_the_band() -> None:
    names = [r.name for r in candidates(0, 4)]
    assert names[0] == "seed/mean/last/L0" and names[-1] == "contrast/mean/last/L0-1"
    assert len(set(names)) == 5
    assert ExtractionRecipe.from_dict(candidates(2, 4)[4].to_dict()) == candidates(2, 4)[4]
    with pytest.raises(InvalidParameterError):
        ExtractionRecipe("other")
    with pytest.raises(InvalidParameterError):
        ExtractionRecipe(layers=())


def test_band_splits_the_ratio(session: Session) -> None:
    r = ExtractionRecipe("contrast", "pca", "last", (0, 1, 2))
    v = recipe_vector(session, "terse", r)
    assert v.layer_indices == [0, 1, 2] or list(v.layer_indices) == [0, 1, 2]
    alphas = layer_alphas(session, v, 0.6)
    single = layer_alphas(
        session, recipe_vector(session, "terse", ExtractionRecipe("contrast", "pca", "last", (1,))), 0.6
    )
    assert alphas[1] == pytest.approx(single[1] / 3, rel=1e-6)
    plan = recipe_plan(session, v, 0.6, -1)
    assert plan is not None and all(t.alpha < 0 for t in plan) and recipe_plan(session, v, 0.0) is None


def test_search_record_shape(session: Session) -> None:
    before = hook_snapshot(session.lm.model)
    record = search(session, ["terse"], {"terse": 1}, ratios=(0.5,), n_questions=2, max_new_tokens=3)
    data = json.loads(json.dumps(record))
    entry = data["styles"]["terse"]
    assert len(entry["table"]) == 5 * 2  # recipes x directions x ratios
    assert entry["chosen"]["name"] in entry["scores"]
    assert entry["contrast_set"]["version"].startswith("terse-contrast-")
    assert set(entry["chosen_ratio"]) == {"positive", "negative"}
    assert session.n_generations == 1  # the whole style is one batched grid
    assert hook_snapshot(session.lm.model) == before


@pytest.mark.parametrize(
    "recipe",
    [
        ExtractionRecipe("seed", "mean", "last", (1,)),
        ExtractionRecipe("contrast", "pca", "last", (1,)),
        ExtractionRecipe("contrast", "mean", "mean", (1, 2)),
    ],
)
def test_recipe_vector_equals_a_direct_extraction(session: Session, recipe: ExtractionRecipe) -> None:
    import torch

    from steering_core.behaviour.contrast import load_contrast_set
    from steering_core.extract import extract

    lm = session.lm
    if recipe.source == "seed":
        direct = extract(lm, style="socratic", layers=list(recipe.layers), read_at=recipe.read_at)  # type: ignore[arg-type]
    else:
        cs = load_contrast_set("socratic")
        pairs, chat = (
            (cs.templated_style(lm.tokenizer), False) if recipe.read_at == "last" else (cs.plain_style(), True)
        )
        direct = extract(
            lm,
            style=pairs,
            layers=list(recipe.layers),
            read_at=recipe.read_at,
            aggregator=recipe.aggregator,
            chat=chat,  # type: ignore[arg-type]
        )
    mine = recipe_vector(session, "socratic", recipe)
    assert mine.layer_indices == direct.layer_indices
    for layer in recipe.layers:
        assert torch.allclose(mine[layer], direct[layer], rtol=1e-5, atol=1e-6)
