"""Fluency: the perplexity of an answer under the *unsteered* model, given its question.

For a question ``q`` and an answer ``a``, the model reads the chat-templated question (user
message plus generation prompt, :func:`steering_core.prompts.chat_text`) followed by the answer's
tokens (``a`` tokenised on its own, without special tokens, as generation would have produced
them after the prompt). With ``t_1..t_n`` the answer tokens:

* ``mean_nll = -(1/n) * sum_j log p(t_j | prompt, t_<j)`` in **nats per answer token**
  (natural log; only the answer's tokens are scored, never the prompt's);
* ``perplexity = exp(mean_nll)`` (unitless; 1 = the model was certain of every token).

An answer with no token has ``n = 0`` and NaN perplexity (it is skipped by the ratio).

**Relative measure.** :func:`perplexity_ratio` compares a set of steered answers with the
baseline answers of the same questions: ``exp(mean_i mean_nll(steered_i) - mean_i
mean_nll(baseline_i))``, the ratio of the geometric means of the per-answer perplexities (each
answer weighs the same, whatever its length). 1.0 = as fluent as the model's own answers; 2.0 =
twice the perplexity. Caveat: a legitimate change of style also raises it a little (the
unsteered model would not have written a terse or formal answer itself), so a fluency bound
must be read against the prompted answers' ratio (same instruction given in the prompt), not 1.

**Batching.** The (prompt + answer) sequences are left-padded into batches of ``batch_size``
(sorted by length to limit padding, results returned in input order) with an attention mask and
explicit position ids counted from each row's first real token, so every row gets the same
numbers as a forward pass on it alone (tested to 1e-5 on tiny models). Only the last
``max answer length + 1`` positions go through the output head (``logits_to_keep``).

Always pass the model *unhooked*: this module installs nothing and checks that no steering hook
is on the model (a steered reference would measure the wrong thing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from steering_core.errors import InvalidParameterError
from steering_core.prompts import chat_text, pad_token_id

MAX_SEQUENCE_TOKENS = 8192
"""The longest prompt + answer accepted, in tokens (checked before any tensor is built)."""


@dataclass(frozen=True)
class AnswerFluency:
    """Fluency of one answer: ``n_tokens`` scored, their mean NLL (nats/token), and the perplexity."""

    n_tokens: int
    mean_nll: float

    @property
    def perplexity(self) -> float:
        """``exp(mean_nll)``; NaN for an answer with no token."""
        return math.exp(self.mean_nll) if self.n_tokens else float("nan")


def _check_texts(values: Sequence[str], name: str) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidParameterError(name, "a sequence of strings (a list, not a single string)", repr(values)[:80])
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise InvalidParameterError(f"{name}[{i}]", "a string", type(v).__name__)
    return list(values)


def _hooked(model: nn.Module) -> bool:
    return any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


@torch.no_grad()
def answer_fluency(
    model: nn.Module,
    tokenizer: Any,
    questions: Sequence[str],
    answers: Sequence[str],
    batch_size: int = 8,
    chat: bool = True,
) -> list[AnswerFluency]:
    """Mean NLL and perplexity of each answer given its question, under ``model`` (unhooked).

    Pre: ``questions`` and ``answers`` have the same length (>= 1); ``batch_size`` an int >= 1;
    every prompt + answer at most :data:`MAX_SEQUENCE_TOKENS` tokens; no forward hook on ``model``.

    Raises:
        InvalidParameterError: any precondition above, before the model runs.
    """
    qs, ans = _check_texts(questions, "questions"), _check_texts(answers, "answers")
    if not qs or len(qs) != len(ans):
        raise InvalidParameterError("answers", f"one answer per question ({len(qs)})", len(ans))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidParameterError("batch_size", "an int >= 1", repr(batch_size))
    if _hooked(model):
        raise InvalidParameterError("model", "the unsteered model (no forward hook installed)", "a hooked model")
    rows: list[tuple[list[int], list[int]]] = []
    for i, (q, a) in enumerate(zip(qs, ans, strict=True)):
        prompt = list(tokenizer(chat_text(tokenizer, q, chat), add_special_tokens=False)["input_ids"])
        answer = list(tokenizer(a, add_special_tokens=False)["input_ids"]) if a else []
        if not prompt:
            raise InvalidParameterError(f"questions[{i}]", "a question that gives at least one token", "no token")
        if len(prompt) + len(answer) > MAX_SEQUENCE_TOKENS:
            raise InvalidParameterError(
                f"answers[{i}]", f"prompt + answer of at most {MAX_SEQUENCE_TOKENS} tokens", len(prompt) + len(answer)
            )
        rows.append((prompt, answer))
    device = next(model.parameters()).device
    pad = pad_token_id(tokenizer)
    out: list[AnswerFluency | None] = [None] * len(rows)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]) + len(rows[i][1]))
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        scored = [i for i in chunk if rows[i][1]]
        for i in chunk:
            if not rows[i][1]:
                out[i] = AnswerFluency(0, float("nan"))
        if not scored:
            continue
        seqs = [rows[i][0] + rows[i][1] for i in scored]
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):
            ids[r, width - len(s) :] = torch.tensor(s, dtype=torch.long)
            mask[r, width - len(s) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        keep = max(len(rows[i][1]) for i in scored) + 1
        logits = model(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            position_ids=positions.to(device),
            logits_to_keep=keep,
            use_cache=False,
        ).logits  # (B, keep, V): position width-keep+k predicts token width-keep+k+1
        for r, i in enumerate(scored):
            n = len(rows[i][1])
            target = torch.tensor(rows[i][1], dtype=torch.long, device=logits.device)
            pred = logits[r, keep - 1 - n : keep - 1].float()  # predictions of the last n tokens
            logp = torch.log_softmax(pred, dim=-1).gather(-1, target[:, None]).squeeze(-1)
            out[i] = AnswerFluency(n, float(-logp.mean()))
    return [f for f in out if f is not None]


def perplexities(
    model: nn.Module, tokenizer: Any, questions: Sequence[str], answers: Sequence[str], batch_size: int = 8
) -> list[float]:
    """The perplexity of each answer (see :func:`answer_fluency`)."""
    return [f.perplexity for f in answer_fluency(model, tokenizer, questions, answers, batch_size)]


def perplexity_ratio(steered: Sequence[AnswerFluency], baseline: Sequence[AnswerFluency]) -> float:
    """``exp(mean mean_nll(steered) - mean mean_nll(baseline))`` over answers with >= 1 token each.

    The two sides are averaged separately (each over its own non-empty answers). NaN when either
    side has no scored answer.
    """
    s = [f.mean_nll for f in steered if f.n_tokens]
    b = [f.mean_nll for f in baseline if f.n_tokens]
    if not s or not b:
        return float("nan")
    return math.exp(sum(s) / len(s) - sum(b) / len(b))
