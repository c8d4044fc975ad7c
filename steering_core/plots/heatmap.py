"""Layer x alpha heat map of a steering effect, collapsed cells marked.

Rows are the swept layers, columns the swept alphas (categorical, in increasing order). Each
cell's colour is the change of the metric (mean answer words by default, or a style metric
recorded per cell) against the unsteered baseline: a relative change in percent when the
baseline is non-zero, else the absolute difference. The cell text is the metric's value;
collapsed cells (>= half the answers degenerate) are hatched and outlined in red; dead cells
(every answer identical to the baseline) are labelled "dead"; unswept cells are grey.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from steering_core.plots.data import CellData, HeatmapData
from steering_core.plots.style import PHASE_COLOURS, figure_context, new_figure, note

SIZE: tuple[float, float] = (9.0, 5.5)
CMAP = "PuOr"


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else (f"{value:.1f}" if abs(value) >= 1 else f"{value:.2f}")


def heatmap_figure(data: HeatmapData) -> Figure:
    """The layer x alpha heat map of ``data.metric``."""
    sweep = data.sweep
    layers, alphas = sweep.layers, sweep.alphas
    baseline = sweep.baseline_value(data.metric)
    assert baseline is not None  # checked by HeatmapData
    relative = abs(baseline) > 1e-12
    grid: dict[tuple[int, float], CellData] = {(c.layer, c.alpha): c for c in sweep.cells}
    change = np.full((len(layers), len(alphas)), np.nan)
    for (layer, alpha), recorded in grid.items():
        value = recorded.value(data.metric)
        assert value is not None
        delta = value - baseline
        change[layers.index(layer), alphas.index(alpha)] = 100.0 * delta / abs(baseline) if relative else delta
    finite = change[np.isfinite(change)]
    span = float(np.max(np.abs(finite))) if finite.size else 1.0
    span = span if span > 0 else 1.0
    norm = TwoSlopeNorm(vmin=-span, vcenter=0.0, vmax=span)
    cmap = colormaps[CMAP].with_extremes(bad="#e0e0e0")
    with figure_context():
        fig = new_figure(*SIZE)
        ax = fig.subplots()
        image = ax.imshow(np.ma.masked_invalid(change), cmap=cmap, norm=norm, aspect="auto", origin="lower")
        ax.grid(False)
        ax.set_xticks(range(len(alphas)), [f"{a:g}" for a in alphas])
        ax.set_yticks(range(len(layers)), [str(layer) for layer in layers])
        ax.set_xlabel("alpha")
        ax.set_ylabel("layer")
        for i, layer in enumerate(layers):
            for j, alpha in enumerate(alphas):
                cell = grid.get((layer, alpha))
                if cell is None:
                    ax.text(j, i, "-", ha="center", va="center", fontsize=9, color="#777777")
                    continue
                value = cell.value(data.metric)
                assert value is not None
                strong = abs(change[i, j]) > 0.6 * span
                colour = "white" if strong else "black"
                label = _fmt(value)
                if cell.phase == "dead":
                    label += "\ndead"
                elif cell.phase == "collapse":
                    label += f"\ncollapse {cell.n_degenerate}/{cell.n_answers}"
                if cell.phase == "collapse":
                    ax.add_patch(
                        Rectangle(
                            (j - 0.5, i - 0.5),
                            1,
                            1,
                            fill=False,
                            hatch="xx",
                            edgecolor=PHASE_COLOURS["collapse"],
                            linewidth=1.8,
                        )
                    )
                box = {"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1.5}
                collapsed = cell.phase == "collapse"
                ax.text(
                    j,
                    i,
                    label,
                    ha="center",
                    va="center",
                    fontsize=8.5,
                    color="black" if collapsed else colour,
                    bbox=box if collapsed else None,
                )
        bar = fig.colorbar(image, ax=ax, shrink=0.9)
        unit = "% change vs baseline" if relative else "difference vs baseline"
        bar.set_label(f"{data.metric}: {unit}")
        name = "mean answer words" if data.metric == "words" else f"mean {data.metric}"
        ax.set_title(
            f"Effect on {name}, layer x alpha: style {sweep.style or '?'}"
            + (f" ({sweep.model})" if sweep.model else "")
        )
        ax.legend(
            handles=[
                Patch(facecolor="white", edgecolor=PHASE_COLOURS["collapse"], hatch="xx", label="collapsed cell"),
            ],
            loc="upper left",
            bbox_to_anchor=(0.0, -0.12),
            framealpha=0.9,
        )
        note(
            fig,
            f"Baseline {data.metric} = {_fmt(baseline)} (unsteered). Cell text: the steered value; "
            f"{sweep.n_prompts or '?'} prompts, <= {sweep.max_new_tokens} new tokens, greedy.",
        )
    return fig
