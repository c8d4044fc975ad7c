"""Lens radar: the lens (bleed) scores of baseline against steered answers, one axis per lens.

Radius is the share of words matched by a lens, in percent, on a square-root scale (so the 1%,
3% and 5% band boundaries stay legible next to larger scores). Background rings are the bands
of :mod:`steering_core.behaviour.lens`: clean (< 1%), ambient (1-3%), captured (3-5%), full
(> 5%). Each axis label carries the two scores, ``baseline -> steered``.
"""

from __future__ import annotations

import math
import textwrap
from typing import cast

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.projections.polar import PolarAxes

from steering_core.plots.data import LensData
from steering_core.plots.style import SERIES, figure_context, new_figure, note

SIZE: tuple[float, float] = (10.0, 8.0)
BANDS: tuple[tuple[str, float, float, str], ...] = (
    ("clean < 1%", 0.0, 1.0, "#e8f5e9"),
    ("ambient 1-3%", 1.0, 3.0, "#fff8e1"),
    ("captured 3-5%", 3.0, 5.0, "#ffe0b2"),
    ("full > 5%", 5.0, math.inf, "#ffcdd2"),
)


def _r(percent: float) -> float:
    """Radial coordinate of a score in percent (square-root scale)."""
    return math.sqrt(max(percent, 0.0))


def _wrap(name: str) -> str:
    """A lens name on at most two lines (underscores become spaces)."""
    return textwrap.fill(name.replace("_", " "), 12)


def radar_figure(data: LensData) -> Figure:
    """The lens radar of ``data``."""
    names = [s.name for s in data.lenses]
    base = [100.0 * s.baseline for s in data.lenses]
    steered = [100.0 * s.steered for s in data.lenses]
    top = max([6.0, *(1.15 * x for x in base + steered)])
    r_max = _r(top)
    n = len(names)
    theta = [2 * math.pi * i / n for i in range(n)]
    closed = [*theta, theta[0]]
    dense = np.linspace(0.0, 2 * math.pi, 361)
    with figure_context():
        fig = new_figure(*SIZE)
        # Fixed placement: the constrained layout does not reserve room for polar angle labels.
        fig.set_layout_engine("none")
        ax = cast(PolarAxes, fig.add_axes((0.1, 0.08, 0.6, 0.78), projection="polar"))
        ax.set_theta_offset(math.pi / 2)
        ax.set_theta_direction(-1)
        for _, lo, hi, colour in BANDS:
            ax.fill_between(dense, _r(lo), _r(min(hi, top)), color=colour, linewidth=0, zorder=0)
        for level in (1.0, 3.0, 5.0):
            ax.plot(dense, np.full_like(dense, _r(level)), color="#888888", linewidth=0.8, linestyle=":", zorder=1)
        ax.plot(closed, [_r(x) for x in [*base, base[0]]], "o-", color="#616161", linewidth=1.4, label="baseline")
        ax.fill(closed, [_r(x) for x in [*base, base[0]]], color="#616161", alpha=0.12)
        ax.plot(
            closed,
            [_r(x) for x in [*steered, steered[0]]],
            "o-",
            color=SERIES[1],
            linewidth=1.8,
            label=f"steered (alpha {data.alpha:g}, layer {data.layer})",
        )
        ax.fill(closed, [_r(x) for x in [*steered, steered[0]]], color=SERIES[1], alpha=0.15)
        labels = [f"{_wrap(name)}\n{b:.1f} -> {s:.1f}%" for name, b, s in zip(names, base, steered, strict=True)]
        ax.set_xticks(theta, labels)
        ax.tick_params(axis="x", labelsize=8.5, pad=6)
        ticks = [x for x in (1.0, 3.0, 5.0, 10.0, 20.0, 50.0) if x <= top]
        ax.set_yticks([_r(x) for x in ticks], [f"{x:g}%" for x in ticks])
        ax.tick_params(axis="y", labelsize=7.5, colors="#555555")
        ax.set_rlabel_position(360 / n / 2)
        ax.set_ylim(0, r_max)
        handles, _ = ax.get_legend_handles_labels()
        handles += [Patch(color=colour, label=label) for label, _, _, colour in BANDS]
        fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.99, 0.97), framealpha=0.9)
        fig.suptitle(
            f"Lens radar: style {data.style}, layer {data.layer}, alpha {data.alpha:g} (ratio {data.ratio:.3f})",
            x=0.4,
            y=0.975,
        )
        source = ", ".join(x for x in (data.prompt_set, data.lens_version) if x)
        note(
            fig,
            "Share of answer words matched by each lens, pooled over prompts; square-root radius."
            + (f" {source}" if source else "")
            + (f", <= {data.max_new_tokens} new tokens" if data.max_new_tokens else "")
            + ".",
        )
    return fig
