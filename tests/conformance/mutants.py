"""Deliberately broken backends: each carries one known steering bug from the field.

They prove the conformance kit can fail: every mutant must make its target property fail
(tests/conformance/test_mutants.py). Most are the real ``hf-hook`` adapter with the request
rewritten the way a buggy backend would read it; the rest replace one step of its generation.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import torch

from steering_core.conformance.adapters import HookBackend
from steering_core.conformance.plan import Request, Term
from steering_core.generate import eos_token_ids
from steering_core.layers import decoder_layers, join_output, split_output
from steering_core.ops import steering_delta
from steering_core.prompts import encode, pad_token_id
from steering_core.steer import steer, steer_rows


def _rewrite(request: Request, term_fn: Any) -> Request:
    return dataclasses.replace(request, terms=tuple(term_fn(t) for t in request.terms))


class _Rewriting(HookBackend):
    """The real hook adapter, with each request rewritten by :meth:`rewrite` first."""

    def rewrite(self, request: Request, use_cache: bool) -> Request:
        raise NotImplementedError

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        return super().generate([self.rewrite(r, use_cache) for r in requests], max_new_tokens, use_cache=use_cache)


class AlphaZeroDefault(_Rewriting):
    """``alpha or DEFAULT``: alpha = 0 is falsy, so the default alpha steers (EasySteer #20)."""

    def rewrite(self, request: Request, use_cache: bool) -> Request:
        return _rewrite(request, lambda t: dataclasses.replace(t, alpha=t.alpha or 8.0))


class NormalisedVector(_Rewriting):
    """Normalises the direction before scaling: alpha means something else than |alpha * v|."""

    def rewrite(self, request: Request, use_cache: bool) -> Request:
        def unit(t: Term) -> Term:
            norm = float(self.vectors[t.vector][t.layers[0]].norm())
            return dataclasses.replace(t, alpha=t.alpha / norm)

        return _rewrite(request, unit)


class AbsAlpha(_Rewriting):
    """Clamps alpha to be positive: -alpha steers like +alpha."""

    def rewrite(self, request: Request, use_cache: bool) -> Request:
        return _rewrite(request, lambda t: dataclasses.replace(t, alpha=abs(t.alpha)))


class OffByOneLayer(_Rewriting):
    """Numbers layers from 1 (llama.cpp's direction.N is the output of layer N-1)."""

    def rewrite(self, request: Request, use_cache: bool) -> Request:
        last = self.lm.num_layers - 1
        return _rewrite(request, lambda t: dataclasses.replace(t, layers=tuple(min(x + 1, last) for x in t.layers)))


class LastTermWins(_Rewriting):
    """Several terms replace one another instead of adding up."""

    def rewrite(self, request: Request, use_cache: bool) -> Request:
        return dataclasses.replace(request, terms=request.terms[-1:])


class AllIsPrefill(_Rewriting):
    """``all`` is implemented as a prefill-only hook: generated tokens are not steered."""

    def rewrite(self, request: Request, use_cache: bool) -> Request:
        return _rewrite(
            request, lambda t: dataclasses.replace(t, positions="prompt" if t.positions == "all" else t.positions)
        )


class PromptIsAll(_Rewriting):
    """An unsupported position mode falls back to ``all``: ``prompt`` steers generated tokens too."""

    def rewrite(self, request: Request, use_cache: bool) -> Request:
        return _rewrite(
            request, lambda t: dataclasses.replace(t, positions="all" if t.positions == "prompt" else t.positions)
        )


class NoCacheLosesGenerated(_Rewriting):
    """Without the KV cache every call looks like a new prompt, so ``generated`` never steers."""

    def rewrite(self, request: Request, use_cache: bool) -> Request:
        if use_cache:
            return request
        return dataclasses.replace(request, terms=tuple(t for t in request.terms if t.positions != "generated"))


class FirstPlanForAll(HookBackend):
    """A batch is steered with its first row's plan (per-request steering not implemented)."""

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        first = requests[0].terms
        return super().generate(
            [dataclasses.replace(r, terms=first) for r in requests], max_new_tokens, use_cache=use_cache
        )


class GlobalPlan(HookBackend):
    """Keeps the current plan in a shared attribute: concurrent requests read each other's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current: tuple[Term, ...] = ()

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        self.current = requests[0].terms
        time.sleep(0.2)  # the window in which another request overwrites it
        plan = self.current
        return super().generate(
            [dataclasses.replace(r, terms=plan) for r in requests], max_new_tokens, use_cache=use_cache
        )


class PromptKeyedCache(HookBackend):
    """Caches answers by prompt text alone, as a prefix cache without a steering salt does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache: dict[str, list[int]] = {}
        self.lock = threading.Lock()

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        missing = [r for r in requests if r.prompt not in self.cache]
        if missing:
            for r, out in zip(missing, super().generate(missing, max_new_tokens, use_cache=use_cache), strict=True):
                self.cache[r.prompt] = out
        return [self.cache[r.prompt] for r in requests]

    def state_digest(self) -> str | None:
        return super().state_digest()  # the cache is invisible to the weights: only behaviour shows it


class LeavesBiasBehind(HookBackend):
    """Folds a steered request into the weights and never restores them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stack = ExitStack()

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        out = super().generate(requests, max_new_tokens, use_cache=use_cache)
        for term in requests[0].terms:
            if term.positions == "all" and 0 <= term.layers[0] < self.lm.num_layers:
                self.stack.enter_context(
                    steer(self.lm.model, self.vectors[term.vector], term.alpha, term.layers, mode="folded")
                )
        return out

    def close(self) -> None:
        self.stack.close()


class LateGenerated(HookBackend):
    """``generated`` counts forward calls and skips the first decode call (CAA #3: one token late)."""

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        if not any(t.positions == "generated" for r in requests for t in r.terms):
            return super().generate(requests, max_new_tokens, use_cache=use_cache)
        (request,) = requests
        blocks = decoder_layers(self.lm.model)
        calls = {"n": 0}
        handles = []

        def counter(*_: Any) -> None:
            calls["n"] += 1

        handles.append(blocks[0].register_forward_pre_hook(counter))
        for term in request.terms:
            delta = steering_delta(self.vectors[term.vector][term.layers[0]], term.alpha, torch.float32, "cpu")

            def hook(_m: Any, _a: Any, output: Any, delta: torch.Tensor = delta) -> Any:
                if calls["n"] <= 2:  # prefill and the first generated token: the bug
                    return None
                hidden, rest = split_output(output)
                return join_output(hidden + delta, rest)

            handles.append(blocks[term.layers[0]].register_forward_hook(hook))
        try:
            with steer_rows(self.lm.model, [None]):
                batch = encode(self.lm.tokenizer, [request.prompt])
                out = self.lm.model.generate(
                    input_ids=batch.input_ids,
                    attention_mask=batch.attention_mask,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    pad_token_id=pad_token_id(self.lm.tokenizer),
                    use_cache=use_cache,
                )
        finally:
            for h in handles:
                h.remove()
        return [_cut(out[0, batch.input_ids.shape[1] :].tolist(), eos_token_ids(self.lm.tokenizer, self.lm.model))]


class IgnoresPadding(HookBackend):
    """Batches without the attention mask: left padding is attended to."""

    def generate(self, requests: Sequence[Request], max_new_tokens: int, *, use_cache: bool = True) -> list[list[int]]:
        if len(requests) == 1:
            return super().generate(requests, max_new_tokens, use_cache=use_cache)
        plans = [[dataclasses.replace(t) for t in r.terms] for r in requests]
        from steering_core.plan import Term as PlanTerm

        compiled = [
            [PlanTerm(vector=self.vectors[t.vector], alpha=t.alpha, layers=t.layers, positions=t.positions) for t in p]
            or None
            for p in plans
        ]  # type: ignore[arg-type]
        batch = encode(self.lm.tokenizer, [r.prompt for r in requests])
        with steer_rows(self.lm.model, compiled):
            out = self.lm.model.generate(
                input_ids=batch.input_ids,
                attention_mask=torch.ones_like(batch.attention_mask),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad_token_id(self.lm.tokenizer),
                use_cache=use_cache,
            )
        eos = eos_token_ids(self.lm.tokenizer, self.lm.model)
        return [_cut(row[batch.input_ids.shape[1] :].tolist(), eos) for row in out]


def _cut(row: list[int], eos: set[int]) -> list[int]:
    end = next((i for i, tok in enumerate(row) if tok in eos), len(row))
    return row[:end]


MUTANTS: dict[str, type[HookBackend]] = {
    "CF-zero-alpha": AlphaZeroDefault,
    "CF-dose": NormalisedVector,
    "CF-sign": AbsAlpha,
    "CF-layer-numbering": OffByOneLayer,
    "CF-additivity": LastTermWins,
    "CF-positions-all": AllIsPrefill,
    "CF-positions-prompt": PromptIsAll,
    "CF-positions-generated": LateGenerated,
    "CF-cache": NoCacheLosesGenerated,
    "CF-padding": IgnoresPadding,
    "CF-batch-isolation": FirstPlanForAll,
    "CF-request-isolation": GlobalPlan,
    "CF-prefix-cache": PromptKeyedCache,
    "CF-reversibility": LeavesBiasBehind,
}
