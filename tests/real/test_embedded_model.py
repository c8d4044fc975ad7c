"""Behaviour on the embedded real model (Qwen2.5-Coder-0.5B-Instruct), never faked.

Marked ``slow``: each generation of the 8-question set takes about a minute on 2 CPU cores.
The tests also marked ``ci`` run in CI (``make test``); ``make test-all`` runs every one.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from steering_core.extract import extract
from steering_core.generate import generate, steered_generate
from steering_core.models import load_model
from steering_core.prompt_sets import prompt_set
from steering_core.steer import hook_snapshot, steer
from steering_core.text import degeneracy, word_count

pytestmark = pytest.mark.slow

LAYER = 12  # middle of 24 layers
EFFECTIVE_ALPHA = 0.5  # perturbation ratio ~0.3 of the median residual norm at layer 12
MAX_NEW_TOKENS = 96


@pytest.fixture(scope="module")
def embedded() -> Any:
    return load_model()


@pytest.fixture(scope="module")
def terse(embedded: Any) -> Any:
    return extract(embedded, style="terse", layers=[LAYER])


def _mean_words(answers: list[str]) -> float:
    return sum(word_count(a) for a in answers) / len(answers)


@pytest.mark.ci
def test_terse_vector_shortens_answers_by_at_least_40_percent(embedded: Any, terse: Any) -> None:
    questions = prompt_set()[:8]
    baseline = generate(embedded, questions, MAX_NEW_TOKENS)
    steered = steered_generate(
        embedded,
        terse,
        EFFECTIVE_ALPHA,
        questions,
        layers=LAYER,
        max_new_tokens=MAX_NEW_TOKENS,
    )
    base_words, steered_words = _mean_words(baseline), _mean_words(steered)
    print(f"\nmean words: baseline {base_words:.1f}, steered {steered_words:.1f}")
    for question, answer in zip(questions, steered, strict=True):
        print(f"  {word_count(answer):>3}  {question} -> {answer[:100]!r}")
    assert steered_words <= 0.6 * base_words, (base_words, steered_words)
    problems = {q: degeneracy(a) for q, a in zip(questions, steered, strict=True) if degeneracy(a)}
    assert not problems, problems
    assert hook_snapshot(embedded.model) == {}


@pytest.mark.ci
def test_zero_alpha_is_bit_identical_on_the_real_model(embedded: Any, terse: Any) -> None:
    pristine = copy.deepcopy(embedded.model)
    from steering_core.prompts import encode

    batch = encode(embedded.tokenizer, prompt_set()[:3])
    with torch.no_grad():
        expected = pristine(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        with steer(embedded.model, terse, 0.0, layers=LAYER):
            got = embedded.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        after = embedded.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
    assert torch.equal(got, expected)
    assert torch.equal(after, expected)


def test_large_alpha_collapses_and_is_detected(embedded: Any, terse: Any) -> None:
    questions = prompt_set()[:8]
    steered = steered_generate(
        embedded.model, embedded.tokenizer, terse, 3.0, questions, layers=LAYER, max_new_tokens=48
    )
    assert sum(1 for a in steered if degeneracy(a)) >= 4


def test_batched_extraction_equals_single_on_the_real_model(embedded: Any) -> None:
    batched = extract(embedded, style="terse", layers=[6, LAYER, 18], batch_size=2)
    single = extract(embedded, style="terse", layers=[6, LAYER, 18], batch_size=1)
    for layer in batched:
        cos = torch.nn.functional.cosine_similarity(batched[layer], single[layer], dim=0)
        assert cos > 0.9999 and torch.allclose(batched[layer], single[layer], rtol=1e-3, atol=1e-3)


def test_folded_mode_matches_the_hook_on_the_real_model(embedded: Any, terse: Any) -> None:
    questions = prompt_set()[:4]
    with steer(embedded.model, terse, EFFECTIVE_ALPHA, layers=LAYER):
        hooked = generate(embedded, questions, 48)
    with steer(embedded.model, terse, EFFECTIVE_ALPHA, layers=LAYER, mode="folded"):
        folded = generate(embedded, questions, 48)
    assert folded == hooked
    assert embedded.model.model.layers[LAYER].mlp.down_proj.bias is None
