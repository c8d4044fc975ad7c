"""The reference oracle: a deliberately simple steering loop on a pristine model.

One request at a time (so no padding), greedy, with the KV cache: the first forward call feeds
the whole prompt, every later call feeds the one token chosen last. A term adds
``steering_delta(v[layer], alpha)`` (the spec's rounding: ``fl_t(fl32(alpha * v))``) to the
output of decoder layer ``layer`` -- on the prompt call for ``prompt``, on every later call for
``generated`` (so the first generated token is steered when it is fed back), on both for
``all``. Terms are added one after another in plan order. A plain request installs nothing.

The oracle owns its model: a deep copy made before any backend touched the original, so a
backend that leaves something behind cannot make the oracle agree with it. It records the top-2
logit margin of every step, which the checks use to tell a near-tie from a real divergence.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from steering_core.conformance.plan import Request
from steering_core.errors import InvalidParameterError
from steering_core.generate import eos_token_ids
from steering_core.layers import decoder_layers, join_output, model_device, model_dtype, split_output
from steering_core.ops import steering_delta
from steering_core.prompts import encode
from steering_core.vector import SteeringVector


@dataclass(frozen=True)
class Trace:
    """A greedy run: new token ids (cut before EOS) and the top-2 logit margin at each step."""

    tokens: tuple[int, ...]
    margins: tuple[float, ...]


class Oracle:
    """Reference steering on a private, pristine copy of ``model``.

    Args:
        model: the model the backend serves (copied here; the copy never has a hook outside a call).
        tokenizer: its tokenizer (chat template applied to every prompt).
        vectors: the vectors the requests name, by name.
        copy_model: set False only when ``model`` is already a private copy.
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        vectors: Mapping[str, SteeringVector],
        copy_model: bool = True,
    ) -> None:
        self.model = copy.deepcopy(model) if copy_model else model
        self.tokenizer = tokenizer
        self.vectors = dict(vectors)
        self._eos = eos_token_ids(tokenizer, self.model)
        self._memo: dict[tuple[Request, int, bool], Trace] = {}

    @contextmanager
    def _hooks(self, request: Request, phase: list[str]) -> Iterator[None]:
        blocks = decoder_layers(self.model)
        dtype, device = model_dtype(self.model), model_device(self.model)
        handles = []
        try:
            for term in request.terms:
                if term.vector not in self.vectors:
                    raise InvalidParameterError("vector", f"one of {sorted(self.vectors)}", repr(term.vector))
                for layer in term.layers:
                    delta = steering_delta(self.vectors[term.vector][layer], term.alpha, dtype, device)
                    handles.append(blocks[layer].register_forward_hook(_adder(delta, term.positions, phase)))
            yield
        finally:
            for handle in handles:
                handle.remove()

    @torch.no_grad()
    def trace(self, request: Request, max_new_tokens: int, skip_first_generated: bool = False) -> Trace:
        """The reference run of ``request`` (memoised).

        ``skip_first_generated`` leaves the first generated token unsteered (a known backend bug);
        the checks use it only to prove a fixture can tell the two apart.
        """
        key = (request, max_new_tokens, skip_first_generated)
        if key in self._memo:
            return self._memo[key]
        device = model_device(self.model)
        ids = encode(self.tokenizer, [request.prompt], chat=True, device=device).input_ids
        phase = ["prompt"]
        tokens: list[int] = []
        margins: list[float] = []
        with self._hooks(request, phase):
            out = self.model(input_ids=ids, use_cache=True)
            for step in range(max_new_tokens):
                logits = out.logits[0, -1].float()
                top = torch.topk(logits, 2).values
                margins.append(float(top[0] - top[1]))
                token = int(torch.argmax(logits))
                if token in self._eos:
                    break
                tokens.append(token)
                if step == max_new_tokens - 1:
                    break
                phase[0] = "first" if (step == 0 and skip_first_generated) else "generated"
                feed = torch.tensor([[token]], device=device)
                out = self.model(input_ids=feed, use_cache=True, **_cache_kwargs(self.model, out))
        result = Trace(tuple(tokens), tuple(margins))
        self._memo[key] = result
        return result


def _cache_kwargs(model: nn.Module, out: Any) -> dict[str, Any]:
    """The cache of ``out`` as the next call's keyword (``cache`` from transformers 5.2x on,
    ``past_key_values`` before)."""
    cache = out.get("cache") if "cache" in out else out.get("past_key_values")
    takes_cache = "cache" in inspect.signature(model.forward).parameters
    return {"cache": cache} if takes_cache else {"past_key_values": cache}


def _adder(delta: torch.Tensor, positions: str, phase: list[str]) -> Any:
    def hook(_module: nn.Module, _args: tuple[Any, ...], output: Any) -> Any:
        now = phase[0]
        if positions == "prompt" and now != "prompt":
            return None
        if positions == "generated" and now != "generated":
            return None
        if positions == "all" and now == "first":
            return None
        hidden, rest = split_output(output)
        return join_output(hidden + delta.to(hidden.dtype), rest)

    return hook
