"""Greedy generation, plain or steered, batched with left padding.

Prompts are user messages wrapped in the chat template; answers are decoded without special
tokens and cut at the first end-of-sequence token. Generation is greedy (``do_sample=False``)
so a steered answer differs from the baseline only because of the steering.

Every function takes the loaded model first (``generate(lm, prompts)``); the old
``generate(model, tokenizer, prompts)`` form works for one more release with a
:class:`DeprecationWarning` (:func:`steering_core.deprecation.model_first`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
from torch import nn

from steering_core.deprecation import model_first
from steering_core.errors import InvalidParameterError
from steering_core.models import LoadedModel
from steering_core.prompts import check_prompts, encode, pad_token_id
from steering_core.steer import Positions, steer
from steering_core.vector import SteeringVector

StepCallback = Callable[[int], None]


class _StepCounter:
    """A logits processor that reports each decoding step (for progress bars); scores unchanged."""

    def __init__(self, callback: StepCallback) -> None:
        self.callback = callback

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        self.callback(1)
        return scores


def eos_token_ids(tokenizer: Any, model: nn.Module) -> set[int]:
    """End-of-sequence ids: the tokenizer's and the generation config's (what answers are cut at)."""
    ids: set[int] = set()
    for source in (
        getattr(tokenizer, "eos_token_id", None),
        getattr(getattr(model, "generation_config", None), "eos_token_id", None),
    ):
        if isinstance(source, int):
            ids.add(source)
        elif isinstance(source, (list, tuple)):
            ids.update(int(x) for x in source)
    return ids


@model_first
@torch.no_grad()
def generate_tokens(
    lm: LoadedModel,
    prompts: Sequence[str],
    max_new_tokens: int = 96,
    min_new_tokens: int = 0,
    chat: bool = True,
    use_cache: bool = True,
    on_step: StepCallback | None = None,
) -> list[list[int]]:
    """Greedy new-token ids for each prompt (one batch, left-padded), cut after the first EOS.

    Deprecated: ``generate_tokens(model, tokenizer, prompts, ...)``.
    """
    model, tokenizer = lm.model, lm.tokenizer
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise InvalidParameterError("max_new_tokens", "an int >= 1", repr(max_new_tokens))
    if (
        isinstance(min_new_tokens, bool)
        or not isinstance(min_new_tokens, int)
        or not 0 <= min_new_tokens <= max_new_tokens
    ):
        raise InvalidParameterError(
            "min_new_tokens", f"an int in [0, max_new_tokens={max_new_tokens}]", repr(min_new_tokens)
        )
    from transformers import LogitsProcessorList

    device = next(model.parameters()).device
    batch = encode(tokenizer, prompts, chat=chat, device=device)
    processors = LogitsProcessorList([_StepCounter(on_step)]) if on_step is not None else None
    output = model.generate(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        max_new_tokens=max_new_tokens,
        min_new_tokens=min_new_tokens,
        do_sample=False,
        temperature=None,
        top_p=None,
        top_k=None,
        pad_token_id=pad_token_id(tokenizer),
        use_cache=use_cache,
        logits_processor=processors,
    )
    new = output[:, batch.input_ids.shape[1] :].tolist()
    eos = eos_token_ids(tokenizer, model)
    cut: list[list[int]] = []
    for row in new:
        end = next((i for i, tok in enumerate(row) if tok in eos), len(row))
        cut.append(row[:end])
    return cut


@model_first
def generate(
    lm: LoadedModel,
    prompts: Sequence[str],
    max_new_tokens: int = 96,
    chat: bool = True,
    batch_size: int = 8,
    on_step: StepCallback | None = None,
) -> list[str]:
    """Greedy answers (decoded text) for ``prompts``, ``batch_size`` prompts at a time.

    Deprecated: ``generate(model, tokenizer, prompts, ...)``.

    Raises:
        InvalidParameterError, EmptyPromptError: bad prompts (:func:`steering_core.prompts.check_prompts`)
            or ``batch_size`` not an int >= 1, before anything runs.
    """
    prompts = check_prompts(prompts, lm.tokenizer, chat)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidParameterError("batch_size", "an int >= 1", repr(batch_size))
    answers: list[str] = []
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        for ids in generate_tokens(lm, chunk, max_new_tokens, chat=chat, on_step=on_step):
            answers.append(lm.tokenizer.decode(ids, skip_special_tokens=True).strip())
    return answers


@model_first
def steered_generate(
    lm: LoadedModel,
    vector: SteeringVector | torch.Tensor,
    alpha: float,
    prompts: Sequence[str],
    layers: int | Iterable[int] | None = None,
    positions: Positions = "all",
    max_new_tokens: int = 96,
    batch_size: int = 8,
    on_step: StepCallback | None = None,
) -> list[str]:
    """Greedy answers for ``prompts`` while steering with ``alpha * vector`` at ``layers``.

    Deprecated: ``steered_generate(model, tokenizer, vector, alpha, prompts, ...)``.
    """
    prompts = check_prompts(prompts, lm.tokenizer)  # refused before anything is installed
    with steer(lm.model, vector, alpha, layers=layers, positions=positions):
        return generate(lm, prompts, max_new_tokens, batch_size=batch_size, on_step=on_step)
