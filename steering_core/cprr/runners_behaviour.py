"""Runners for injection versus prompt-level control: H-IP-1 (reach; registered as C-9 until the seed's
C-9 took its id) and C-14 (parity asymmetry).

Both compare, on the protocol's prompts (greedy, chat template, ``max_new_tokens``), the mean
word count of

* the unsteered baseline;
* the prompted answers: ``params.prompt_template`` with the style's positive instruction
  (``prompted_+``) or negative instruction (``prompted_-``), unsteered;
* answers steered with ``alpha * v`` at ``params.layer`` (raw style vector, the protocol's
  extraction recipe).

H-IP-1 steers at the alpha of perturbation ratio ``params.ratio`` (``alpha = ratio * median / ||v||``,
median residual norm at the layer over the same prompts, first token excluded).
C-14 steers at ``+|alpha|`` and ``-|alpha|`` for each alpha of the protocol.
"""

from __future__ import annotations

from typing import Any

from steering_core.cprr.runners import RunContext, runner
from steering_core.cprr.runners_geometry import extraction
from steering_core.cprr.runners_layers import mean_words
from steering_core.styles import as_style


def prompted_answers(ctx: RunContext, protocol: dict[str, Any], prompts: list[str], pole: str) -> list[str]:
    pair = as_style(str(protocol["styles"][0])).pairs[0]
    instruction = pair.positive if pole == "+" else pair.negative
    template = str(protocol["params"]["prompt_template"])
    texts = [template.format(instruction=instruction, question=q) for q in prompts]
    return ctx.generate(texts, int(protocol["max_new_tokens"]))


@runner("H-IP-1", fast=False)
def injection_reach(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """``injection_fraction`` = (words(base) - words(steered)) / (words(base) - words(prompted_+))."""
    prompts = ctx.prompts(protocol)
    params = protocol["params"]
    (layer,) = ctx.check_layers([int(params["layer"])])
    tokens = int(protocol["max_new_tokens"])
    vector = ctx.vector(str(protocol["styles"][0]), **extraction(protocol))
    median = next(n.median_norm for n in ctx.residual_norms(prompts) if n.layer == layer)
    alpha = float(params["ratio"]) * median / vector.norm(layer)
    base = mean_words(ctx.generate(prompts, tokens))
    prompted = mean_words(prompted_answers(ctx, protocol, prompts, "+"))
    steered = mean_words(ctx.steered(vector, alpha, layer, prompts, tokens))
    reach = base - prompted
    fraction = (base - steered) / reach if reach > 0 else 0.0
    return {
        "injection_fraction": fraction,
        "alpha": alpha,
        "baseline_words": base,
        "prompted_words": prompted,
        "steered_words": steered,
        "vector_norm": vector.norm(layer),
        "median_norm": median,
    }


@runner("C-14", fast=False)
def parity_asymmetry(ctx: RunContext, protocol: dict[str, Any]) -> dict[str, Any]:
    """``asymmetry`` = |a+ - a-| / min(a+, a-) over the protocol's alpha grid (see its definition)."""
    prompts = ctx.prompts(protocol)
    params = protocol["params"]
    (layer,) = ctx.check_layers([int(params["layer"])])
    tokens = int(protocol["max_new_tokens"])
    alphas = sorted(abs(float(a)) for a in protocol["alphas"])
    vector = ctx.vector(str(protocol["styles"][0]), **extraction(protocol))
    base = mean_words(ctx.generate(prompts, tokens))
    target = {pole: mean_words(prompted_answers(ctx, protocol, prompts, pole)) for pole in ("+", "-")}
    words: dict[str, dict[str, float]] = {"+": {}, "-": {}}
    reached: dict[str, float] = {}
    for pole, sign in (("+", 1.0), ("-", -1.0)):
        for alpha in alphas:
            w = mean_words(ctx.steered(vector, sign * alpha, layer, prompts, tokens))
            words[pole][f"{alpha:g}"] = w
            hit = w <= target["+"] if pole == "+" else w >= target["-"]
            if hit:
                reached[pole] = alpha
                break
    sentinel = 2.0 * max(alphas)
    a_plus, a_minus = reached.get("+", sentinel), reached.get("-", sentinel)
    return {
        "asymmetry": abs(a_plus - a_minus) / min(a_plus, a_minus),
        "a_plus": a_plus,
        "a_minus": a_minus,
        "baseline_words": base,
        "prompted_plus_words": target["+"],
        "prompted_minus_words": target["-"],
        "steered_plus_words": words["+"],
        "steered_minus_words": words["-"],
    }
