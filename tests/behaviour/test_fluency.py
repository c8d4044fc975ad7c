"""Fluency: batched answer perplexity equals a one-by-one computation; real model prefers fluent text."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
import torch

from steering_core.behaviour.fluency import AnswerFluency, answer_fluency, perplexities, perplexity_ratio
from steering_core.errors import InvalidParameterError
from steering_core.prompts import chat_text
from steering_core.tiny import make_tiny_model, make_tokenizer

QUESTIONS = ["Why is the sky blue?", "hi", "What does a compiler do, in one or two sentences?", "Name a prime.", "ok?"]
ANSWERS = [
    "Air scatters blue light more than red light.",
    "Hello! How can I help?",
    "It turns source code into machine code.",
    "7",
    "Yes, it is fine. Nothing else to add here, really; that is the whole answer.",
]


@torch.no_grad()
def _one_by_one(model: Any, tok: Any, question: str, answer: str) -> float:
    """Reference: one unpadded sequence, full logits, mean NLL of the answer tokens."""
    prompt = tok(chat_text(tok, question), add_special_tokens=False)["input_ids"]
    target = tok(answer, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt + target])
    logits = model(input_ids=ids).logits[0].float()
    logp = torch.log_softmax(logits[len(prompt) - 1 : -1], dim=-1)
    return float(-logp[torch.arange(len(target)), torch.tensor(target)].mean())


@pytest.mark.parametrize("arch", ["qwen2", "llama", "qwen3"])
def test_batched_left_padded_equals_one_by_one(arch: str) -> None:
    model, tok = make_tiny_model(arch), make_tokenizer()
    batched = answer_fluency(model, tok, QUESTIONS, ANSWERS, batch_size=len(ANSWERS))  # one forward pass
    chunked = answer_fluency(model, tok, QUESTIONS, ANSWERS, batch_size=2)
    for q, a, b, c in zip(QUESTIONS, ANSWERS, batched, chunked, strict=True):
        ref = _one_by_one(model, tok, q, a)
        assert b.n_tokens == len(tok(a, add_special_tokens=False)["input_ids"])
        assert abs(b.mean_nll - ref) < 1e-5 and abs(c.mean_nll - ref) < 1e-5
        assert b.perplexity == pytest.approx(math.exp(ref), rel=1e-5)


def test_empty_answer_and_ratio() -> None:
    model, tok = make_tiny_model("qwen2"), make_tokenizer()
    result = answer_fluency(model, tok, ["q1", "q2"], ["", "some answer"])
    assert result[0].n_tokens == 0 and math.isnan(result[0].perplexity) and result[1].n_tokens > 0
    assert len(perplexities(model, tok, ["q1"], ["abc"])) == 1
    base = [AnswerFluency(3, 1.0), AnswerFluency(5, 2.0)]
    steered = [AnswerFluency(4, 2.0), AnswerFluency(2, 3.0), AnswerFluency(0, float("nan"))]
    assert perplexity_ratio(steered, base) == pytest.approx(math.e)
    assert perplexity_ratio(base, base) == 1.0
    assert math.isnan(perplexity_ratio([AnswerFluency(0, float("nan"))], base))


def test_bad_input_is_refused_before_the_model_runs() -> None:
    model, tok = make_tiny_model("qwen2"), make_tokenizer()
    with pytest.raises(InvalidParameterError):
        answer_fluency(model, tok, ["q"], ["a", "b"])
    with pytest.raises(InvalidParameterError):
        answer_fluency(model, tok, "q", "a")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        answer_fluency(model, tok, ["q"], ["a"], batch_size=0)
    with pytest.raises(InvalidParameterError):
        answer_fluency(model, tok, ["q"], [3])  # type: ignore[list-item]
    handle = model.model.layers[0].register_forward_hook(lambda *_: None)
    try:
        with pytest.raises(InvalidParameterError):
            answer_fluency(model, tok, ["q"], ["a"])
    finally:
        handle.remove()


@pytest.mark.slow
def test_embedded_model_finds_a_fluent_answer_less_perplexing_than_its_shuffle() -> None:
    from steering_core.models import load_model

    lm = load_model()
    fluent = (
        "A mutex is a lock that lets only one thread use a shared resource at a time, "
        "so two threads cannot change the same data at once."
    )
    words = fluent.split()
    random.Random(0).shuffle(words)
    shuffled = " ".join(words)
    q = "Explain what a mutex is."
    good, bad = answer_fluency(lm.model, lm.tokenizer, [q, q], [fluent, shuffled])
    assert good.perplexity < bad.perplexity / 3, (good.perplexity, bad.perplexity)
