"""Chat templating, tokenisation with left padding, and the span of a prompt's own tokens.

Contrast prompts and questions are wrapped as a single user message in the model's chat
template with the generation prompt appended (Qwen3 gets ``enable_thinking=False``). A
tokenizer without a chat template falls back to the raw text. Templated text is tokenised
with ``add_special_tokens=False`` because the template already carries any BOS token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from steering_core.errors import EmptyPromptError, InvalidParameterError


def has_chat_template(tokenizer: Any) -> bool:
    """True when the tokenizer defines a chat template."""
    return bool(getattr(tokenizer, "chat_template", None))


def chat_text(tokenizer: Any, user_text: str, chat: bool = True) -> str:
    """The string the model sees for one user message (templated unless ``chat`` is False)."""
    if not chat or not has_chat_template(tokenizer):
        return user_text
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": user_text}],
        tokenize=False,
        add_generation_prompt=True,
        enable_thinking=False,
    )
    if not isinstance(text, str):
        raise TypeError(f"chat template returned {type(text).__name__}, expected str")
    return text


def pad_token_id(tokenizer: Any) -> int:
    """The id used for left padding: the pad token, else EOS."""
    pad = getattr(tokenizer, "pad_token_id", None)
    if pad is None:
        pad = getattr(tokenizer, "eos_token_id", None)
    if isinstance(pad, list):
        pad = pad[0]
    if not isinstance(pad, int):
        raise InvalidParameterError("tokenizer", "a tokenizer with a pad or EOS token", "neither")
    return pad


@dataclass(kw_only=True)
class EncodedBatch:
    """Left-padded token ids for a batch.

    ``input_ids`` and ``attention_mask`` have shape ``(batch, seq)``; ``content_mask`` marks
    the tokens of each prompt's own text (the user content inside the template), used by
    the ``mean`` read position. Padding is 0 in both masks.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    content_mask: torch.Tensor
    texts: list[str]

    @property
    def position_ids(self) -> torch.Tensor:
        """Positions counted from each prompt's first real token (padding gets 0)."""
        return (self.attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def _content_mask(tokenizer: Any, text: str, content: str, n_tokens: int) -> list[bool]:
    start = text.rfind(content)
    if start < 0 or not getattr(tokenizer, "is_fast", False):
        # No offsets available: every token but the first (attention sink).
        return [False] + [True] * (n_tokens - 1) if n_tokens > 1 else [True]
    end = start + len(content)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    mask = [s < end and e > start for s, e in enc["offset_mapping"]]
    return mask if any(mask) else [True] * n_tokens


MAX_PROMPT_CHARS = 1_000_000
"""The longest prompt accepted, in characters (tokenising it takes about a second)."""


def check_prompts(prompts: Sequence[str], tokenizer: Any = None, chat: bool = True) -> list[str]:
    """Validate a batch of prompts before anything is tokenised; return them as a list.

    Raises:
        InvalidParameterError: not a sequence of strings (a single ``str`` is refused: it would
            be iterated character by character), empty, or a prompt over :data:`MAX_PROMPT_CHARS`.
        EmptyPromptError: an empty or whitespace-only prompt that reaches the model as raw text
            (``chat=False``, or a tokenizer without a chat template): it has nothing to read.
    """
    if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Sequence):
        raise InvalidParameterError(
            "prompts", "a sequence of strings (a list, not a single string)", repr(prompts)[:80]
        )
    if not prompts:
        raise InvalidParameterError("prompts", "at least one prompt", "an empty list")
    raw = not chat or (tokenizer is not None and not has_chat_template(tokenizer))
    for i, text in enumerate(prompts):
        if not isinstance(text, str):
            raise InvalidParameterError(f"prompts[{i}]", "a string", type(text).__name__)
        if len(text) > MAX_PROMPT_CHARS:
            raise InvalidParameterError(f"prompts[{i}]", f"at most {MAX_PROMPT_CHARS} characters", f"{len(text)}")
        if raw and not text.strip():
            raise EmptyPromptError(
                f"prompts[{i}]",
                "a prompt with visible text (without a chat template the model reads the raw prompt)",
                repr(text),
            )
    return list(prompts)


def encode(
    tokenizer: Any,
    user_texts: Sequence[str],
    chat: bool = True,
    device: torch.device | str = "cpu",
) -> EncodedBatch:
    """Template and tokenise ``user_texts``, left-padded to a common length.

    Raises:
        InvalidParameterError, EmptyPromptError: see :func:`check_prompts`; also a prompt that
            tokenises to no token at all.
    """
    if tokenizer is None or not callable(tokenizer):
        raise InvalidParameterError(
            "tokenizer", "the model's tokenizer (a callable Hugging Face tokenizer)", type(tokenizer).__name__
        )
    user_texts = check_prompts(user_texts, tokenizer, chat)
    texts = [chat_text(tokenizer, t, chat) for t in user_texts]
    ids = [list(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    for i, seq in enumerate(ids):
        if not seq:
            raise EmptyPromptError(f"prompts[{i}]", "a prompt that gives the model at least one token", "no token")
    masks = [_content_mask(tokenizer, t, u, len(i)) for t, u, i in zip(texts, user_texts, ids, strict=True)]
    width = max(len(i) for i in ids)
    pad = pad_token_id(tokenizer)
    input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
    attention = torch.zeros((len(ids), width), dtype=torch.long)
    content = torch.zeros((len(ids), width), dtype=torch.bool)
    for row, (seq, cmask) in enumerate(zip(ids, masks, strict=True)):
        n = len(seq)
        input_ids[row, width - n :] = torch.tensor(seq, dtype=torch.long)
        attention[row, width - n :] = 1
        content[row, width - n :] = torch.tensor(cmask, dtype=torch.bool)
    return EncodedBatch(
        input_ids=input_ids.to(device),
        attention_mask=attention.to(device),
        content_mask=content.to(device),
        texts=texts,
    )
