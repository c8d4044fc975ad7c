"""Alpha phase diagram: answer length and coherence against alpha, for one style and layer.

Left axis: mean answer words per alpha (markers coloured by the cell's phase), with the
unsteered baseline as a dashed line. Right axis: the coherence score ``1 - n_degenerate /
n_answers``. Background: the dead zone, effective band and collapse region, shaded from the
per-layer thresholds that :meth:`steering_core.sweep.SweepResult.thresholds` computes from the
cells (each region extends half-way, geometrically on a log axis, to the neighbouring measured
alpha). Top axis: the perturbation ratio, proportional to ``|alpha|`` at a fixed layer.
Alpha uses a log axis when every alpha is positive, else a symmetric-log axis; alpha = 0 cells
(the baseline itself) are not drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

from steering_core.plots.data import PhaseData
from steering_core.plots.style import PHASE_COLOURS, SERIES, figure_context, new_figure, note

SIZE: tuple[float, float] = (9.0, 5.5)
_MARGIN = 1.6  # x-axis padding factor beyond the extreme alphas (log axis)


def _edge(a: float, b: float, log: bool) -> float:
    """The boundary between two neighbouring measured alphas ``a < b``."""
    return math.sqrt(a * b) if log and a > 0 and b > 0 else (a + b) / 2


def _span(alphas: Sequence[float], lo: float, hi: float, log: bool, x0: float, x1: float) -> tuple[float, float]:
    """The x-range covering measured alphas ``lo..hi``: half-way to the neighbours, else the axis ends."""
    i, j = alphas.index(lo), alphas.index(hi)
    left = _edge(alphas[i - 1], alphas[i], log) if i > 0 else x0
    right = _edge(alphas[j], alphas[j + 1], log) if j + 1 < len(alphas) else x1
    return left, right


def _scale(k: float) -> Callable[[Any], Any]:
    """``x -> k * x`` (works on floats and arrays): the alpha <-> ratio map of one layer."""

    def apply(x: Any) -> Any:
        return np.asarray(x, dtype=np.float64) * k

    return apply


def phase_figure(data: PhaseData) -> Figure:
    """The alpha phase diagram of ``data.layer``."""
    sweep = data.sweep
    cells = [c for c in sweep.layer_cells(data.layer) if c.alpha != 0.0]
    if not cells:
        cells = sweep.layer_cells(data.layer)
    alphas = [c.alpha for c in cells]
    log = all(a > 0 for a in alphas)
    if log:
        x0, x1 = alphas[0] / _MARGIN, alphas[-1] * _MARGIN
    else:
        pad = 0.08 * (alphas[-1] - alphas[0] or 1.0)
        x0, x1 = alphas[0] - pad, alphas[-1] + pad
    th = sweep.thresholds()[data.layer]
    with figure_context():
        fig = new_figure(*SIZE)
        ax = fig.subplots()
        if log:
            ax.set_xscale("log")
        else:
            magnitudes = [abs(a) for a in alphas if a != 0] or [1.0]
            ax.set_xscale("symlog", linthresh=min(magnitudes))
        regions: list[tuple[str, float, float]] = []
        if th.dead_max is not None and th.dead_max in alphas:
            regions.append(("dead", x0, _span(alphas, th.dead_max, th.dead_max, log, x0, x1)[1]))
        if th.effective_min is not None and th.effective_max is not None:
            lo, hi = sorted((th.effective_min, th.effective_max))
            if lo in alphas and hi in alphas:
                regions.append(("effective", *_span(alphas, lo, hi, log, x0, x1)))
        if th.collapse_min is not None and th.collapse_min in alphas:
            regions.append(("collapse", _span(alphas, th.collapse_min, th.collapse_min, log, x0, x1)[0], x1))
        for phase, left, right in regions:
            ax.axvspan(left, right, color=PHASE_COLOURS[phase], alpha=0.13, linewidth=0)
        ax.axhline(sweep.baseline_mean_words, color="#444444", linestyle="--", linewidth=1.0)
        ax.annotate(
            f"baseline {sweep.baseline_mean_words:.1f} words",
            (x0, sweep.baseline_mean_words),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=8,
            color="#444444",
        )
        ax.plot(alphas, [c.mean_words for c in cells], "-", color=SERIES[0], zorder=3)
        ax.scatter(
            alphas,
            [c.mean_words for c in cells],
            c=[PHASE_COLOURS[c.phase] for c in cells],
            s=46,
            zorder=4,
            edgecolors="white",
            linewidths=0.8,
        )
        ax.set_xlim(x0, x1)
        top_words = max([c.mean_words for c in cells] + [sweep.baseline_mean_words])
        ax.set_ylim(0, 1.15 * top_words if top_words > 0 else 1.0)
        ax.set_xlabel("alpha (steering step, log scale)" if log else "alpha (steering step, symlog scale)")
        ax.set_ylabel("mean answer words", color=SERIES[0])
        right_ax = ax.twinx()
        right_ax.plot(alphas, [c.coherence for c in cells], "s--", color=SERIES[2], label="coherence")
        right_ax.set_ylim(-0.05, 1.1)
        right_ax.set_ylabel("coherence = 1 - degenerate / answers", color="#9a6b00")
        right_ax.grid(False)
        right_ax.spines["right"].set_visible(True)
        nonzero = [c for c in cells if c.alpha != 0.0]
        ax.set_xticks(alphas, [f"{a:g}" for a in alphas])
        ax.xaxis.set_minor_locator(NullLocator())
        if log and nonzero:
            k = nonzero[0].ratio / abs(nonzero[0].alpha)
            if k > 0:
                sec = ax.secondary_xaxis("top", functions=(_scale(k), _scale(1.0 / k)))
                sec.set_xticks([c.ratio for c in nonzero], [f"{c.ratio:.3g}" for c in nonzero])
                sec.xaxis.set_minor_locator(NullLocator())
                sec.set_xlabel("perturbation ratio |alpha| ||v|| / median |h|", fontsize=8.5)
        handles = [Patch(color=PHASE_COLOURS[p], alpha=0.35, label=label) for p, label in _LEGEND]
        handles.append(Patch(color=SERIES[2], label="coherence (right axis)"))
        ax.legend(handles=handles, loc="lower left", framealpha=0.9)
        ax.set_title(
            f"Alpha phase diagram: style {sweep.style or '?'}, layer {data.layer}"
            + (f" ({sweep.model})" if sweep.model else "")
        )
        n = cells[0].n_answers
        note(
            fig,
            f"{n} prompts per alpha, greedy, <= {sweep.max_new_tokens} new tokens. Phases per cell: dead = all answers "
            "identical to the baseline; collapse = >= half degenerate (empty, runs, loops, low diversity); "
            "effective otherwise. Shading from the sweep thresholds.",
        )
    return fig


_LEGEND: tuple[tuple[str, str], ...] = (
    ("dead", "dead zone (no change)"),
    ("effective", "effective band"),
    ("collapse", "collapse (>= 50% degenerate)"),
)
