"""Report inputs measured on a live model: anatomy, basins, a quick sweep, a quick lens eval.

Costs on the embedded model (Qwen2.5-Coder-0.5B, 2 CPU cores):

* :func:`anatomy_dict`: residual norms at every layer over ``neutral-questions-v1`` (12 prompts,
  2 batched forward passes) with the style vector extracted at every layer (1 pass);
* :func:`basins_dict`: one batched forward pass over ``2 * n_questions + 2`` prompts: each pole's
  instruction followed by each neutral question (``f"{instruction} {question}"``, one
  chat-templated user message, read at the last token as :func:`steering_core.extract.extract`
  does), plus the two bare instructions (the anchors);
* :func:`quick_sweep`: :func:`steering_core.sweep.alpha_sweep` over ``layers x alphas`` on the
  first ``n_prompts`` neutral questions with ``max_new_tokens`` (default 3 x 5 cells, 4 prompts,
  32 tokens: about a minute);
* :func:`quick_lens`: the lens eval of :mod:`steering_core.behaviour.lens` (imported lazily; None
  with the reason when the module is missing) with ``max_new_tokens`` tokens.

Every function returns JSON-ready dicts in the formats the figures' ``from_dict`` read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from steering_core.behaviour.lens import lens_eval
from steering_core.defaults import REPORT_LENS_TOKENS, REPORT_SWEEP_ALPHAS, REPORT_SWEEP_PROMPTS, REPORT_SWEEP_TOKENS
from steering_core.diagnose import LayerNorms
from steering_core.extract import read_activations
from steering_core.models import LoadedModel
from steering_core.styles import as_style
from steering_core.sweep import SweepCell, alpha_sweep
from steering_core.vector import SteeringVector

Say = Callable[[str], None]

SWEEP_ALPHAS: tuple[float, ...] = REPORT_SWEEP_ALPHAS
SWEEP_PROMPTS = REPORT_SWEEP_PROMPTS
SWEEP_TOKENS = REPORT_SWEEP_TOKENS
LENS_TOKENS = REPORT_LENS_TOKENS


def _quiet(_: str) -> None:
    return None


def sweep_layers(num_layers: int) -> list[int]:
    """The default sweep layers: the quartiles of the depth (6, 12, 18 for 24 layers)."""
    return sorted({max(0, min(num_layers - 1, round(num_layers * q))) for q in (0.25, 0.5, 0.75)})


def anatomy_dict(
    lm: LoadedModel,
    vector: SteeringVector,
    norms: Sequence[LayerNorms],
    alpha: float,
    layer: int,
    prompt_set_id: str,
) -> dict[str, Any]:
    """The :class:`~steering_core.plots.data.AnatomyData` dict of ``vector`` over ``norms``."""
    vnorms = vector.norms()
    rows = [n for n in norms if n.layer in vnorms]
    return {
        "figure": "anatomy",
        "model": lm.name,
        "style": vector.style or "custom",
        "alpha": alpha,
        "selected_layer": layer,
        "prompt_set": prompt_set_id,
        "layers": [n.layer for n in rows],
        "median_norm": [n.median_norm for n in rows],
        "first_token_norm": [n.first_token_norm for n in rows],
        "vector_norm": [vnorms[n.layer] for n in rows],
    }


def basins_dict(lm: LoadedModel, vector: SteeringVector, layer: int, questions: Sequence[str]) -> dict[str, Any]:
    """The :class:`~steering_core.plots.data.BasinsData` dict at ``layer`` (first contrast pair's poles)."""
    if vector.recipe is not None and vector.recipe.pairs:
        pair = vector.recipe.pairs[0]
    else:
        pair = as_style(vector.style or "terse").pairs[0]
    position = vector.recipe.read_at if vector.recipe is not None else "last"
    chat = vector.recipe.chat_template if vector.recipe is not None else True
    prompts = [f"{pair.positive} {q}" for q in questions] + [f"{pair.negative} {q}" for q in questions]
    prompts += [pair.positive, pair.negative]
    acts = read_activations(lm, prompts, [layer], read_at=position, chat=chat)[:, 0, :]
    n = len(questions)
    rows = acts.to("cpu").tolist()
    return {
        "figure": "basins",
        "model": lm.name,
        "style": vector.style or "custom",
        "layer": layer,
        "positive_label": pair.positive,
        "negative_label": pair.negative,
        "positive": rows[:n],
        "negative": rows[n : 2 * n],
        "vector": vector[layer].to("cpu", dtype=acts.dtype).tolist(),
        "positive_anchor": rows[2 * n],
        "negative_anchor": rows[2 * n + 1],
    }


def quick_sweep(
    lm: LoadedModel,
    vector: SteeringVector,
    norms: Sequence[LayerNorms],
    layers: Sequence[int],
    alphas: Sequence[float],
    prompts: Sequence[str],
    max_new_tokens: int,
    say: Say = _quiet,
) -> dict[str, Any]:
    """A live alpha sweep as ``{"model": ..., **SweepResult.to_dict()}`` (progress per cell via ``say``)."""
    total = len(layers) * len(alphas)
    done = [0]

    def on_cell(cell: SweepCell) -> None:
        done[0] += 1
        say(
            f"sweep {done[0]}/{total}: layer {cell.layer} alpha {cell.alpha:g} ratio {cell.ratio:.3f} "
            f"words {cell.mean_words:.1f} degenerate {cell.n_degenerate} identical {cell.n_identical} -> {cell.phase}"
        )

    say(f"sweep: baseline + {total} cells, {len(prompts)} prompts, {max_new_tokens} new tokens")
    result = alpha_sweep(
        lm,
        vector,
        list(layers),
        list(alphas),
        list(prompts),
        norms,
        max_new_tokens=max_new_tokens,
        on_cell=on_cell,
    )
    return {"model": lm.name, **result.to_dict()}


def quick_lens(
    lm: LoadedModel,
    vector: SteeringVector,
    layer: int,
    alpha: float,
    median_norm: float,
    max_new_tokens: int,
    say: Say = _quiet,
) -> tuple[dict[str, Any] | None, str]:
    """``(lens dict, "")`` from a live lens eval."""
    say(f"lens eval: layer {layer}, alpha {alpha:g}, {max_new_tokens} new tokens")
    report = lens_eval(
        lm, vector=vector, alpha=alpha, layer=layer, max_new_tokens=max_new_tokens, residual_norm=median_norm
    )
    result: dict[str, Any] = report.to_dict()
    return result, ""
