"""Batched generation of a cell (rows with per-row plans) against one generation per condition.

Greedy, float32, tiny random models: the batched path (``Session(batched=True)``, rows of
``generate_rows`` under ``steer_rows``) must give the same texts as the unbatched reference
(``generate`` under ``steer`` per condition), and a reduced behaviour run the same verdicts.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
import torch

from steering_core.behaviour.batch import Row, generate_rows, plan_key, vector_digest
from steering_core.behaviour.session import Session
from steering_core.errors import InvalidParameterError
from steering_core.models import LoadedModel
from steering_core.plan import Term
from steering_core.steer import hook_snapshot
from tests.conftest import make_tiny_model

QUESTIONS = ["Why is the sky blue?", "Name a prime.", "How do tides work, and why twice a day?"]


def _lm(tokenizer: Any, arch: str = "qwen3") -> LoadedModel:
    return LoadedModel(model=make_tiny_model(arch), tokenizer=tokenizer, name=f"tiny-{arch}", source="test")


def test_batched_rows_equal_one_generation_per_condition(tokenizer: Any) -> None:
    lm = _lm(tokenizer)
    ref = Session(lm, max_new_tokens=8, batch_size=8, batched=False)
    fast = Session(lm, max_new_tokens=8, batch_size=8, batched=True, max_batch=5)
    conditions: list[tuple[Any, float]] = [(None, 0.0)]
    for style in ("terse", "formal"):
        v = ref.vector(style, 1)
        conditions += [(v, 2.0), (v, -2.0)]
    before = hook_snapshot(lm.model)
    fast.prefetch([(QUESTIONS, v, a) for v, a in conditions])  # one grid: 15 rows, chunks of 5
    assert fast.n_generations == 1 and fast.n_rows == 15
    for v, a in conditions:
        assert fast.answers(QUESTIONS, v, a) == ref.answers(QUESTIONS, v, a)
    assert fast.n_generations == 1  # everything came from the grid
    assert hook_snapshot(lm.model) == before


def test_rows_dedupe_and_keep_order(tokenizer: Any) -> None:
    lm = _lm(tokenizer)
    session = Session(lm, max_new_tokens=5)
    v = session.vector("terse", 1)
    rows = [
        Row("Why?", (Term(vector=v, alpha=1.0),)),
        Row("Why?"),
        Row("Why?", (Term(vector=v, alpha=1.0),)),
        Row("Why?", (Term(vector=v, alpha=0.0),)),
    ]
    out = session.rows(rows)
    assert session.n_rows == 2  # alpha 0 is the unhooked row; the repeated plan is generated once
    assert out[0] == out[2] and out[1] == out[3]


def test_plan_key_is_content_based(tokenizer: Any) -> None:
    lm = _lm(tokenizer)
    session = Session(lm)
    v = session.vector("terse", 1)
    w = session.vector("formal", 1)
    assert vector_digest(v) == vector_digest(session.vector("terse", 1))
    assert plan_key((Term(vector=v, alpha=1.0),)) != plan_key((Term(vector=w, alpha=1.0),))
    assert plan_key((Term(vector=v, alpha=0.0),)) is None and plan_key(None) is None


def test_bad_rows_are_refused_before_generating(tokenizer: Any) -> None:
    lm = _lm(tokenizer)
    v = Session(lm).vector("terse", 1)
    with pytest.raises(InvalidParameterError):
        generate_rows(lm, [Row("Why?", (Term(vector=v, alpha=float("nan")),))], 4)
    with pytest.raises(InvalidParameterError):
        generate_rows(lm, [Row("Why?")], 0)
    with pytest.raises(InvalidParameterError):
        generate_rows(lm, [Row("Why?")], 4, max_batch=0)
    with pytest.raises(InvalidParameterError):
        generate_rows(lm, ["Why?"], 4)  # type: ignore[list-item]


def test_no_hook_left_when_generation_raises(tokenizer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    lm = _lm(tokenizer)
    v = Session(lm).vector("terse", 1)
    before = hook_snapshot(lm.model)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(sys.modules["steering_core.behaviour.batch"], "generate_tokens", boom)
    with pytest.raises(RuntimeError):
        generate_rows(lm, [Row("Why?", (Term(vector=v, alpha=1.0),)), Row("Why?")], 4)
    assert hook_snapshot(lm.model) == before
    assert torch.isfinite(v[1]).all()


def test_reduced_run_same_verdicts_and_texts_both_ways(tokenizer: Any) -> None:
    from steering_core.behaviour.run import RunConfig, run_behaviour
    from tests.behaviour.test_run_tiny import _calibration

    lm = _lm(tokenizer)
    results = []
    for batched in (False, True):
        config = RunConfig.reduced()
        config.styles = ["terse", "socratic"]
        config.max_new_tokens = 6
        session = Session(lm, max_new_tokens=6, batch_size=3, batched=batched)
        results.append(
            json.loads(json.dumps(run_behaviour(config, calibration=_calibration(), session=session).to_dict()))
        )
    ref, fast = results
    assert [c["passed"] for c in ref["contracts"]] == [c["passed"] for c in fast["contracts"]]
    assert ref["answers"] == fast["answers"] and ref["baseline_answers"] == fast["baseline_answers"]
