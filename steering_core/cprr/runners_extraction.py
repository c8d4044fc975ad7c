"""H-EX-1: which extraction recipe gives the better direction (cheap: one forward per condition, no generation).

Measure (per recipe): steer at the protocol's layer with the recipe's vector scaled to the same
perturbation ratio ``params.ratio`` (``alpha = ratio * median residual norm / ||v||``, so only
the *direction* differs between recipes), and compare the next-token distribution at the answer
start (last prompt position) with two references on each prompt of the protocol's set:
``p0`` (unsteered) and ``pP`` (the prompt-level instruction: the style's positive instruction
prepended to the question with ``params.prompt_template``). The *gap closed* is
``1 - KL(pP || pS) / KL(pP || p0)``: 1 when steering reproduces the instructed distribution,
0 when it does nothing useful, negative when it moves away. Averaged over prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from steering_core.cprr.runners import RunContext, runner
from steering_core.prompts import encode
from steering_core.styles import as_style


@torch.no_grad()
def next_token_logprobs(ctx: RunContext, prompts: Sequence[str]) -> torch.Tensor:
    """Log-probabilities (float64) of the first answer token for each chat-templated prompt, ``(n, vocab)``."""
    device = next(ctx.model.parameters()).device
    batch = encode(ctx.tokenizer, list(prompts), chat=True, device=device)
    out = ctx.model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=batch.position_ids,
        use_cache=False,
    )
    return torch.log_softmax(out.logits[:, -1, :].to(torch.float64), dim=-1)


def kl(p_log: torch.Tensor, q_log: torch.Tensor) -> torch.Tensor:
    """Row-wise KL(p || q) from log-probabilities."""
    return (p_log.exp() * (p_log - q_log)).sum(dim=-1)


@runner("H-EX-1", fast=True)
def extraction_recipes(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """Gap closed towards the instructed distribution, per extraction recipe (see the module docstring)."""
    # deferred: imports deal, icontract only when this runs, not at module import
    from steering_core.steer import steer

    (layer,) = ctx.check_layers(protocol["layers"])
    params = protocol["params"]
    prompts = ctx.prompts(protocol)
    style = str(protocol["styles"][0])
    instruction = as_style(style).pairs[0].positive
    median = {n.layer: n.median_norm for n in ctx.residual_norms(prompts)}[layer]
    base = next_token_logprobs(ctx, prompts)
    instructed_prompts = [str(params["prompt_template"]).format(instruction=instruction, question=q) for q in prompts]
    ctx.inputs.append({"instructed": instructed_prompts})
    instructed = next_token_logprobs(ctx, instructed_prompts)
    reference_gap = kl(instructed, base)
    out: dict[str, Any] = {"kl_instructed_vs_base": float(reference_gap.mean())}
    for name, recipe in params["recipes"].items():
        vector = ctx.vector(style, position=recipe["position"], chat=bool(recipe["chat"]), aggregator="mean")
        alpha = float(params["ratio"]) * median / vector.norm(layer)
        with steer(ctx.model, vector, alpha, layers=[layer]):
            steered = next_token_logprobs(ctx, prompts)
        closed = 1.0 - kl(instructed, steered) / reference_gap.clamp(min=1e-12)
        out[f"gap_closed_{name}"] = float(closed.mean())
        out[f"alpha_{name}"] = alpha
        out[f"vector_norm_{name}"] = vector.norm(layer)
    first, second = list(params["recipes"])[:2]
    out["advantage"] = out[f"gap_closed_{first}"] - out[f"gap_closed_{second}"]
    return out
