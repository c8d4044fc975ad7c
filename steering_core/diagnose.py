"""Diagnostics: residual-norm statistics per layer, vector norms and perturbation ratios.

Residual norms are read at the output of each decoder layer over a calibration prompt set
(chat-templated), one forward pass per batch for all layers. The first real token of every
prompt is an attention sink with a norm up to ~100x the others, so the headline statistic is
the **median over positions excluding the first token**; the first token's norm is reported
separately (median over prompts). Padding is never counted.

Definitions (per layer L, vector v_L, step alpha):

* ``ratio = |alpha| * ||v_L|| / median_norm_L`` -- the perturbation-to-residual ratio.
* ``snr = ||v_L|| / spread_L`` where ``spread_L`` is the RMS distance of the (non-first)
  residuals from their centroid: how large the vector is against the natural variation of
  the residual stream across prompts and positions. (The seed project's "SNR" was not
  specified precisely; this is our definition.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from steering_core.argcheck import check_layers
from steering_core.deprecation import model_first
from steering_core.errors import InvalidParameterError
from steering_core.extract import forward_capture
from steering_core.layers import locate
from steering_core.models import LoadedModel
from steering_core.ops import perturbation_ratio
from steering_core.prompts import encode
from steering_core.vector import SteeringVector


@dataclass(frozen=True, kw_only=True)
class LayerNorms:
    """Residual-norm statistics of one layer's output over a prompt set."""

    layer: int
    median_norm: float  # median over non-first, non-padding positions
    mean_norm: float
    first_token_norm: float  # median over prompts of the first real token's norm
    spread: float  # RMS distance of non-first residuals from their centroid
    n_positions: int


@dataclass(frozen=True, kw_only=True)
class LayerDiagnosis:
    """One row of the diagnosis table."""

    layer: int
    median_norm: float
    first_token_norm: float
    vector_norm: float
    alpha: float
    ratio: float
    snr: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready row."""
        return asdict(self)


@model_first
@torch.no_grad()
def residual_norms(
    lm: LoadedModel,
    prompts: Sequence[str],
    layers: Sequence[int] | None = None,
    chat: bool = True,
    batch_size: int = 8,
) -> list[LayerNorms]:
    """Per-layer residual-norm statistics (see the module docstring).

    Deprecated: ``residual_norms(model, tokenizer, prompts, ...)``.
    """
    model, tokenizer = lm.model, lm.tokenizer
    _, blocks = locate(model)
    chosen = list(range(len(blocks))) if layers is None else check_layers(layers, len(blocks))
    if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Sequence) or not prompts:
        raise InvalidParameterError("prompts", "a non-empty sequence of prompts", repr(prompts)[:80])
    device = next(model.parameters()).device
    rest: dict[int, list[torch.Tensor]] = {layer: [] for layer in chosen}
    firsts: dict[int, list[torch.Tensor]] = {layer: [] for layer in chosen}
    for start in range(0, len(prompts), batch_size):
        batch = encode(tokenizer, prompts[start : start + batch_size], chat=chat, device=device)
        captured = forward_capture(model, batch, chosen)
        real = batch.attention_mask.bool()
        first_index = real.long().argmax(dim=1)  # left padding: first real column
        is_first = torch.zeros_like(real)
        is_first[torch.arange(real.shape[0]), first_index] = True
        keep = real & ~is_first
        for layer in chosen:
            hidden = captured[layer].to(torch.float64)
            rest[layer].append(hidden[keep])
            firsts[layer].append(hidden[torch.arange(real.shape[0]), first_index])
    out: list[LayerNorms] = []
    for layer in chosen:
        vectors = torch.cat(rest[layer])
        norms = torch.linalg.vector_norm(vectors, dim=-1)
        first_norms = torch.linalg.vector_norm(torch.cat(firsts[layer]), dim=-1)
        centred = vectors - vectors.mean(dim=0, keepdim=True)
        spread = float(torch.sqrt((centred**2).sum(dim=-1).mean()))
        out.append(
            LayerNorms(
                layer=layer,
                median_norm=float(norms.median()),
                mean_norm=float(norms.mean()),
                first_token_norm=float(first_norms.median()),
                spread=spread,
                n_positions=int(norms.numel()),
            )
        )
    return out


def diagnose(
    vector: SteeringVector,
    norms: Sequence[LayerNorms],
    alpha: float,
) -> list[LayerDiagnosis]:
    """Combine a vector with residual statistics into the per-layer table."""
    rows: list[LayerDiagnosis] = []
    vnorms = vector.norms()
    for stats in norms:
        if stats.layer not in vnorms:
            continue
        vnorm = vnorms[stats.layer]
        rows.append(
            LayerDiagnosis(
                layer=stats.layer,
                median_norm=stats.median_norm,
                first_token_norm=stats.first_token_norm,
                vector_norm=vnorm,
                alpha=alpha,
                ratio=perturbation_ratio(alpha, vnorm, stats.median_norm),
                snr=vnorm / stats.spread if stats.spread > 0 else float("inf"),
            )
        )
    return rows
