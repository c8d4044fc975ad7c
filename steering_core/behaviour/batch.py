"""Batched greedy generation of a whole cell: many (question, steering) rows in one batch.

A behavioural cell is a grid of questions x steering conditions (alphas, vectors, prompt
instructions). Instead of one generation per condition, every row of the grid goes into one
left-padded batch (chunked to at most ``max_batch`` rows to bound memory), and each row is steered
by its own plan through :func:`steering_core.steer.steer_rows` (a row with no plan is an unhooked
baseline and keeps its bits).

Contract of :func:`generate_rows`:

* Pre: every row's text is a non-empty user message; every plan is a sequence of
  :class:`~steering_core.plan.Term` (or None); ``max_new_tokens >= 1``; ``max_batch >= 1``.
  Bad plans are refused (typed errors from :func:`steering_core.plan.compile_plan`) before any
  generation.
* Post: one answer per row, in the order given; identical rows (same text, same plan key) are
  generated once. Greedy decoding, chat template, answers cut at the first end-of-sequence
  token and decoded without special tokens, exactly as :func:`steering_core.generate.generate`.
  No hook is left on the model, also when generation raises.
* Rows are grouped by prompt length (tokens) before chunking, so a chunk carries little padding;
  padding is handled per row by the core (positions, masks and steering skip it). In float32 the
  tokens equal those of one generation per condition (:func:`generate` under
  :func:`steering_core.steer.steer`), which ``tests/behaviour/test_batch.py`` checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import torch

from steering_core.errors import InvalidParameterError
from steering_core.generate import generate_tokens
from steering_core.models import LoadedModel
from steering_core.plan import Term, compile_plan
from steering_core.prompts import chat_text, check_prompts
from steering_core.steer import steer_rows
from steering_core.vector import SteeringVector

DEFAULT_MAX_BATCH = 32


@dataclass(frozen=True)
class Row:
    """One generation: a user text and its steering plan (None: unhooked)."""

    text: str
    plan: tuple[Term, ...] | None = None


def vector_digest(vector: SteeringVector | torch.Tensor) -> str:
    """A short content digest of a vector (its layers, widths and values), for memo keys."""
    h = hashlib.sha256()
    if isinstance(vector, SteeringVector):
        for layer in sorted(vector.directions):
            t = vector.directions[layer].detach().to("cpu", torch.float32).contiguous()
            h.update(f"{layer}:{t.numel()};".encode())
            h.update(t.numpy().tobytes())
    else:
        t = vector.detach().to("cpu", torch.float32).contiguous()
        h.update(t.numpy().tobytes())
    return h.hexdigest()[:16]


def plan_key(plan: Sequence[Term] | None) -> Hashable:
    """A hashable key of a plan; None (and a plan of zero-alpha terms only) is the unhooked key."""
    if plan is None:
        return None
    terms = tuple(
        (vector_digest(t.vector), float(t.alpha), t.layers, t.positions) for t in plan if float(t.alpha) != 0.0
    )
    return terms or None


def _check(rows: Sequence[Row], max_new_tokens: int, max_batch: int) -> None:
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise InvalidParameterError("max_new_tokens", "an int >= 1", repr(max_new_tokens))
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise InvalidParameterError("max_batch", "an int >= 1", repr(max_batch))
    for i, row in enumerate(rows):
        if not isinstance(row, Row):
            raise InvalidParameterError(f"rows[{i}]", "a steering_core.behaviour.batch.Row", type(row).__name__)


def generate_rows(
    lm: LoadedModel,
    rows: Sequence[Row],
    max_new_tokens: int,
    max_batch: int = DEFAULT_MAX_BATCH,
    progress: Callable[[str], None] | None = None,
) -> list[str]:
    """Greedy answers for ``rows`` (see the module docstring), ``max_batch`` rows per forward batch."""
    _check(rows, max_new_tokens, max_batch)
    if not rows:
        return []
    model, tok = lm.model, lm.tokenizer
    check_prompts([r.text for r in rows], tok)
    unique: dict[tuple[str, Hashable], int] = {}
    order: list[tuple[str, tuple[Term, ...] | None]] = []
    index: list[int] = []
    for row in rows:
        key = (row.text, plan_key(row.plan))
        if key not in unique:
            unique[key] = len(order)
            order.append((row.text, row.plan if key[1] is not None else None))
        index.append(unique[key])
    # Refuse bad plans before any generation; compiled plans are reused in every chunk.
    compiled = [
        None if plan is None else compile_plan(model, list(plan), f"rows[{i}].plan")
        for i, (_, plan) in enumerate(order)
    ]
    lengths = [len(tok(chat_text(tok, text, True), add_special_tokens=False)["input_ids"]) for text, _ in order]
    by_length = sorted(range(len(order)), key=lambda i: (lengths[i], i))
    answers: list[str] = [""] * len(order)
    for start in range(0, len(by_length), max_batch):
        chunk = by_length[start : start + max_batch]
        if progress is not None:
            progress(f"rows {start + 1}-{start + len(chunk)} of {len(order)} ({max_new_tokens} tokens)")
        plans = [compiled[i] for i in chunk]
        texts = [order[i][0] for i in chunk]
        if all(p is None or p.empty for p in plans):
            ids = generate_tokens(lm, texts, max_new_tokens)
        else:
            with steer_rows(model, plans):
                ids = generate_tokens(lm, texts, max_new_tokens)
        for i, row_ids in zip(chunk, ids, strict=True):
            answers[i] = tok.decode(row_ids, skip_special_tokens=True).strip()
    return [answers[i] for i in index]
