"""The behaviour run end to end on a tiny random model: plumbing, controls and report shape.

A random model has no style, so nothing here is about behaviour; the real-model checks are in
tests/real/test_behaviour.py.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import torch

from steering_core.behaviour.run import RunConfig, run_behaviour
from steering_core.behaviour.session import Session, random_like
from steering_core.extract import extract
from steering_core.models import LoadedModel
from steering_core.steer import hook_snapshot
from tests.conftest import make_tiny_model


def _calibration(layer: int = 1, alpha: float = 0.5) -> dict[str, Any]:
    chosen = {"layer": layer, "alpha": alpha, "ratio": 0.2}
    return {
        "schema": "steering-spec/behaviour-calibration/1",
        "created": "test",
        "styles": {s: {"chosen": chosen} for s in ("terse", "formal", "socratic", "dry-wit")},
    }


@pytest.fixture
def session(tokenizer: Any) -> Session:
    lm = LoadedModel(model=make_tiny_model("qwen3"), tokenizer=tokenizer, name="tiny-qwen3", source="test")
    return Session(lm, max_new_tokens=6, batch_size=4)


def test_random_control_has_the_same_norm_and_is_seeded(session: Session) -> None:
    v = session.vector("terse", 1)
    r1, r2 = random_like(v, 1, 7), random_like(v, 1, 7)
    assert torch.equal(r1[1], r2[1])
    assert float(r1[1].norm()) == pytest.approx(v.norm(1), rel=1e-5)
    assert float(torch.nn.functional.cosine_similarity(r1[1], v[1], dim=0)).__abs__() < 0.9


def test_session_memoises_and_leaves_no_hooks(session: Session) -> None:
    model = session.lm.model
    before = hook_snapshot(model)
    state = copy.deepcopy(model.state_dict())
    v = session.vector("terse", 1)
    a = session.answers(["Why?"], v, 2.0)
    b = session.answers(["Why?"], v, 2.0)
    assert a == b and session.n_generations == 1
    assert session.answers(["Why?"]) == session.answers(["Why?"], v, 0.0)  # alpha 0 is unhooked
    assert hook_snapshot(model) == before
    assert all(torch.equal(state[k], t) for k, t in model.state_dict().items())


def test_reduced_run_shape_and_zero_alpha_control(session: Session) -> None:
    result = run_behaviour(RunConfig.reduced(), calibration=_calibration(), session=session)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["mode"] == "reduced" and len(data["contracts"]) == 8  # four styles x two directions
    first_two = [(c["style"], c["direction"]) for c in data["contracts"][:2]]
    assert first_two == [("terse", "positive"), ("terse", "negative")]
    for c in data["contracts"]:
        assert c["alpha"] > 0 if c["direction"] == "positive" else c["alpha"] < 0
        assert set(c["reliability"]) >= {"anti_steerable", "split_half"} and c["fluency"]["max_ratio"] == 2.0
        zero = c["conditions"]["alpha_zero"]
        assert zero["criteria"][0]["effect"] == 0.0 and zero["passed"] is False
        assert set(c) >= {"style", "metric", "layer", "alpha", "ratio", "effect", "ci_low", "ci_high", "threshold"}
    assert "## Style contracts" in result.to_markdown()


def test_full_run_with_parity_and_lens(session: Session) -> None:
    config = RunConfig.full()
    config.styles = ["terse"]
    config.lens_max_new_tokens = 4
    result = run_behaviour(config, calibration=_calibration(), session=session)
    data = result.to_dict()
    (comparison,) = data["prompting"]  # against prompting replaces the prompt-vs-injection table
    labels = [p["label"] for p in comparison["points"]]
    assert labels[:2] == ["baseline", "prompt"] and len(labels) == 2 + 2 * 3
    assert comparison["summary"]["text"] and set(comparison["pareto_front"]) <= set(labels)
    assert data["lens"]["style"] == "terse" and len(data["lens"]["lenses"]) == 12
    md = result.to_markdown()
    assert "## Against prompting" in md and "Lens bleed" in md


def test_vector_matches_a_direct_extraction(session: Session) -> None:
    direct = extract(session.lm, style="formal", layers=[2])
    assert torch.equal(session.vector("formal", 2)[2], direct[2])
