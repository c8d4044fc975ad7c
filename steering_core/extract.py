"""Extract steering vectors: contrastive activation differences at every layer in one pass.

For each contrast pair the positive and negative instruction are wrapped in the chat template
and run through the model *together*, left-padded in one batch, with forward hooks capturing
the output of every decoder layer at once. The read position ``read_at`` is ``last`` (the last
token of the templated prompt, i.e. the position that produces the answer's first token) or
``mean`` (the mean over the instruction's own tokens inside the template; never padding, never
template scaffolding). Differences ``positive - negative`` are aggregated over pairs by their ``mean``
(default) or by ``pca`` (the first principal direction of the uncentred differences, oriented
and scaled so that it agrees with their mean projection; with one pair both give the
difference itself). Raw vectors by default; ``normalize=True`` scales each layer to unit norm.

Cost: ``ceil(2 * n_pairs / batch_size)`` forward passes, whatever the number of layers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from steering_core.argcheck import check_layers
from steering_core.deprecation import model_first, renamed_keyword
from steering_core.errors import InvalidParameterError
from steering_core.layers import hidden_size, locate, split_output
from steering_core.models import LoadedModel, model_name_of
from steering_core.prompts import EncodedBatch, encode
from steering_core.styles import ContrastPair, Style, as_style, make_style
from steering_core.vector import Aggregator, ReadPosition, Recipe, SteeringVector

READ_POSITIONS: tuple[str, ...] = ("last", "mean")
AGGREGATORS: tuple[str, ...] = ("mean", "pca")


@contextmanager
def capture_layers(model: nn.Module, layers: Sequence[int]) -> Iterator[dict[int, torch.Tensor]]:
    """Record the output hidden state of each decoder layer in ``layers`` during one forward.

    Yields a dict filled in place: ``layer -> (batch, seq, hidden)`` (detached). Hooks are
    removed in ``finally``.
    """
    _, blocks = locate(model)
    captured: dict[int, torch.Tensor] = {}
    handles = []

    def make(layer: int) -> Callable[[nn.Module, Any, Any], None]:
        def hook(_m: nn.Module, _a: Any, output: Any) -> None:
            captured[layer] = split_output(output)[0].detach()

        return hook

    try:
        for layer in layers:
            handles.append(blocks[layer].register_forward_hook(make(layer)))
        yield captured
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def forward_capture(model: nn.Module, batch: EncodedBatch, layers: Sequence[int]) -> dict[int, torch.Tensor]:
    """One forward pass over a left-padded batch; returns ``layer -> (batch, seq, hidden)`` outputs.

    Positions are counted from each prompt's first real token, so a padded prompt sees exactly
    the positions it would see alone.
    """
    with capture_layers(model, layers) as captured:
        model(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            position_ids=batch.position_ids,
            use_cache=False,
        )
    return captured


def _check_read_at(read_at: object, name: str) -> None:
    """Refuse a read position other than ``last``/``mean``, naming the keyword the caller used."""
    if read_at not in READ_POSITIONS:
        raise InvalidParameterError(name, f"one of {READ_POSITIONS}", repr(read_at))


@model_first
@torch.no_grad()
def read_activations(
    lm: LoadedModel,
    prompts: Sequence[str],
    layers: int | Sequence[int] | None = None,
    read_at: ReadPosition = "last",
    chat: bool = True,
    batch_size: int = 16,
    *,
    position: ReadPosition | None = None,
) -> torch.Tensor:
    """Activations of ``prompts`` read at ``read_at``, float32, shape ``(n_prompts, n_layers, hidden)``.

    One forward pass per batch captures every requested layer (default: all layers).
    Deprecated: ``read_activations(model, tokenizer, prompts, ...)`` and the keyword ``position``.
    """
    model, tokenizer = lm.model, lm.tokenizer
    read_at = renamed_keyword("read_activations", "position", position, "read_at", read_at, "last")
    _check_read_at(read_at, "read_at" if position is None else "position")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidParameterError("batch_size", "an int >= 1", repr(batch_size))
    _, blocks = locate(model)
    chosen = list(range(len(blocks))) if layers is None else check_layers(layers, len(blocks))
    device = next(model.parameters()).device
    rows: list[torch.Tensor] = []
    for start in range(0, len(prompts), batch_size):
        batch = encode(tokenizer, prompts[start : start + batch_size], chat=chat, device=device)
        captured = forward_capture(model, batch, chosen)
        stacked = torch.stack([captured[layer] for layer in chosen], dim=1).to(torch.float32)  # (B, L, S, d)
        if read_at == "last":
            rows.append(stacked[:, :, -1, :])  # left padding: the last column is every prompt's last token
        else:
            weights = batch.content_mask.to(torch.float32)  # (B, S)
            summed = torch.einsum("blsd,bs->bld", stacked, weights)
            rows.append(summed / weights.sum(dim=1).clamp(min=1.0)[:, None, None])
    return torch.cat(rows, dim=0)


def aggregate(diffs: torch.Tensor, aggregator: Aggregator) -> torch.Tensor:
    """Aggregate ``(n_pairs, n_layers, hidden)`` differences into ``(n_layers, hidden)``."""
    if aggregator not in AGGREGATORS:
        raise InvalidParameterError("aggregator", f"one of {AGGREGATORS}", repr(aggregator))
    mean = diffs.mean(dim=0)
    if aggregator == "mean":
        return mean
    out = torch.empty_like(mean)
    for layer in range(diffs.shape[1]):
        matrix = diffs[:, layer, :].to(torch.float64)
        _, _, vh = torch.linalg.svd(matrix, full_matrices=False)
        direction = vh[0]
        projections = matrix @ direction
        scale = projections.mean()
        if scale < 0:
            direction, scale = -direction, -scale
        out[layer] = (direction * scale).to(out.dtype)
    return out


@model_first
def extract(
    lm: LoadedModel,
    style: str | Style | Iterable[ContrastPair | Sequence[str]] = "terse",
    layers: int | Sequence[int] | None = None,
    read_at: ReadPosition = "last",
    aggregator: Aggregator = "mean",
    normalize: bool = False,
    chat: bool = True,
    batch_size: int = 16,
    model_name: str | None = None,
    *,
    position: ReadPosition | None = None,
) -> SteeringVector:
    """Extract a steering vector for ``style`` at ``layers`` (default: every layer).

    ``lm`` is a :class:`steering_core.models.LoadedModel`; ``style`` a seed style name, a
    :class:`Style`, or an iterable of pairs; ``read_at`` where activations are read (``last``
    token of the templated prompt, or ``mean`` over the instruction's own tokens).
    ``model_name`` defaults to ``lm.name``. Deprecated: ``extract(model, tokenizer, ...)`` and
    the keyword ``position``.

    Post: a :class:`SteeringVector` in float32 with one finite direction per requested layer.
    """
    model, tokenizer = lm.model, lm.tokenizer
    read_at = renamed_keyword("extract", "position", position, "read_at", read_at, "last")
    _check_read_at(read_at, "read_at" if position is None else "position")
    if tokenizer is None:
        raise InvalidParameterError("tokenizer", "the model's tokenizer", None)
    style_obj = as_style(style) if isinstance(style, (str, Style)) else make_style("custom", style)
    n_layers = len(locate(model)[1])
    chosen = list(range(n_layers)) if layers is None else check_layers(layers, n_layers)
    prompts: list[str] = []
    for pair in style_obj.pairs:
        prompts.extend([pair.positive, pair.negative])
    acts = read_activations(lm, prompts, chosen, read_at, chat, batch_size)
    diffs = acts[0::2] - acts[1::2]  # (n_pairs, n_layers, hidden)
    vectors = aggregate(diffs, aggregator)
    result = SteeringVector(
        directions={layer: vectors[i].contiguous() for i, layer in enumerate(chosen)},
        hidden_size=hidden_size(model),
        num_layers=n_layers,
        model_name=model_name or getattr(lm, "name", None) or model_name_of(model),
        style=style_obj.name,
        recipe=Recipe(
            pairs=style_obj.pairs, read_at=read_at, aggregator=aggregator, normalized=False, chat_template=chat
        ),
    )
    return result.normalized() if normalize else result
