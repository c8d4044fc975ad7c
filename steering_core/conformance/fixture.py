"""The steering fixture every backend is checked with: vectors, a layer, prompts and alphas.

Vectors: ``v`` (the vector under test: a certified file's direction, else the ``terse`` style
extracted from the model), ``w`` (the ``formal`` style, for additivity and isolation) and
``neg_v`` (exactly ``-v``). Each holds its one direction at *every* layer, so the layer-numbering
check can steer L-1 and L+1 with the same direction. Alphas are sized from the model: the
perturbation ratios ``alpha * |v| / median |h|`` at the chosen layer are :data:`RATIOS`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch

from steering_core.conformance.checks import LONG_PROMPT_TOKENS, Fixture
from steering_core.diagnose import residual_norms
from steering_core.errors import InvalidParameterError
from steering_core.extract import extract
from steering_core.layers import check_layer
from steering_core.models import LoadedModel
from steering_core.ops import vector_norm
from steering_core.prompt_sets import prompt_set
from steering_core.prompts import chat_text
from steering_core.vector import SteeringVector

RATIOS: tuple[float, float, float] = (0.15, 0.5, 1.2)
DEFAULT_PROMPT_SET = "neutral-questions-v1"


def _everywhere(direction: torch.Tensor, lm: LoadedModel, like: SteeringVector) -> SteeringVector:
    n = lm.num_layers
    return SteeringVector(
        directions={i: direction.clone() for i in range(n)},
        hidden_size=lm.hidden_size,
        num_layers=n,
        model_name=like.model_name,
        style=like.style,
        recipe=like.recipe,
    )


def long_prompt(lm: LoadedModel, prompts: Sequence[str], max_new_tokens: int) -> str:
    """The prompts joined and repeated until the templated text has ``LONG_PROMPT_TOKENS`` tokens,
    cut to fit the model's context (with room for the chat template and the answer)."""
    context = int(getattr(lm.model.config, "max_position_embeddings", 0) or 4096)
    target = min(LONG_PROMPT_TOKENS, context - max_new_tokens - 48)
    text = ""
    for piece in itertools.cycle(prompts):
        candidate = f"{text} {piece}".strip()
        if len(lm.tokenizer(chat_text(lm.tokenizer, candidate))["input_ids"]) > target:
            return text or candidate
        text = candidate
    raise AssertionError("unreachable")


def build_fixture(
    lm: LoadedModel,
    vector: SteeringVector | None = None,
    layer: int | None = None,
    prompts: Sequence[str] | None = None,
    n_prompts: int = 3,
    max_new_tokens: int = 12,
    ratios: tuple[float, float, float] = RATIOS,
) -> tuple[Fixture, dict[str, SteeringVector]]:
    """The fixture and its vectors (``v``, ``w``, ``neg_v``) for ``lm``.

    Pre: ``layer`` in ``[1, num_layers - 2]`` when given (both neighbours exist); a given ``vector``
    holds ``layer`` (or exactly one layer, which is then used). Post: three strictly increasing
    positive alphas; prompts of at least two different token lengths.
    """
    n = lm.num_layers
    if vector is not None and layer is None:
        if len(vector) != 1:
            raise InvalidParameterError("layer", f"one of the vector's layers {vector.layer_indices}", None)
        layer = vector.layer_indices[0]
    layer = n // 2 if layer is None else check_layer(layer, n, "layer")
    if not 1 <= layer <= n - 2:
        raise InvalidParameterError("layer", f"a layer in [1, {n - 2}] (both neighbours must exist)", layer)
    chosen = list(prompts) if prompts is not None else prompt_set(DEFAULT_PROMPT_SET)[:n_prompts]
    if len(chosen) < 2:
        raise InvalidParameterError("prompts", "at least two prompts", len(chosen))
    source = vector if vector is not None else extract(lm, style="terse", layers=[layer])
    direction = source[layer].to(torch.float32)
    other = extract(lm, style="formal", layers=[layer])
    v = _everywhere(direction, lm, source)
    w = _everywhere(other[layer].to(torch.float32), lm, other)
    neg_v = _everywhere(-direction, lm, source)
    median = residual_norms(lm, chosen, layers=[layer])[0].median_norm
    norm = vector_norm(direction)
    alphas = tuple(float(f"{r * median / norm:.4g}") for r in ratios)
    fixture = Fixture(
        long_prompt=long_prompt(lm, chosen, max_new_tokens),
        prompts=tuple(chosen),
        layer=layer,
        num_layers=n,
        alphas=(alphas[0], alphas[1], alphas[2]),
        max_new_tokens=max_new_tokens,
    )
    return fixture, {"v": v, "w": w, "neg_v": neg_v}
