"""Style basins: a 2-D PCA projection of positive- and negative-pole prompt activations at one layer.

The principal axes are fitted (float64 SVD of the centred cloud) on the positive and negative
activations together; the bare contrast instructions (anchors), when present, are projected onto
the same axes without being fitted. Component signs are fixed so the steering vector projects
onto both axes with a non-negative coordinate (SVD signs are otherwise arbitrary), which makes
the figure deterministic. The steering vector ``v`` (a difference, so it is projected without
centring) is drawn as an arrow from the negative centroid; the footnote states how much of
``||v||`` the plane keeps and the cosine between ``v`` and the difference of the two centroids
in the full space.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from steering_core.plots.data import BasinsData
from steering_core.plots.style import SERIES, figure_context, new_figure, note

SIZE: tuple[float, float] = (8.0, 7.0)


@dataclass(frozen=True)
class Projection:
    """The fitted plane: centre ``(d,)``, components ``(2, d)``, explained variance shares ``(2,)``."""

    centre: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    def points(self, x: np.ndarray) -> np.ndarray:
        """Project points ``(n, d)`` to ``(n, 2)``."""
        out: np.ndarray = (x - self.centre) @ self.components.T
        return out

    def direction(self, v: np.ndarray) -> np.ndarray:
        """Project a difference vector ``(d,)`` to ``(2,)`` (no centring)."""
        out: np.ndarray = self.components @ v
        return out


def fit_projection(cloud: np.ndarray, vector: np.ndarray) -> Projection:
    """PCA to 2-D of ``cloud`` ``(n, d)``, with component signs oriented along ``vector``."""
    centre = cloud.mean(axis=0)
    centred = cloud - centre
    _, singular, vh = np.linalg.svd(centred, full_matrices=False)
    components = np.zeros((2, cloud.shape[1]))
    k = min(2, vh.shape[0])
    components[:k] = vh[:k]
    for i in range(2):
        along = float(components[i] @ vector)
        if along < 0 or (along == 0 and components[i][int(np.argmax(np.abs(components[i])))] < 0):
            components[i] = -components[i]
    total = float((singular**2).sum())
    explained = np.zeros(2)
    if total > 0:
        explained[:k] = singular[:k] ** 2 / total
    return Projection(centre, components, explained)


def _short(text: str, width: int = 48) -> str:
    return textwrap.shorten(text, width=width, placeholder="...")


def basins_figure(data: BasinsData) -> Figure:
    """The style-basins scatter with the steering direction."""
    pos = np.asarray(data.positive, dtype=np.float64)
    neg = np.asarray(data.negative, dtype=np.float64)
    v = np.asarray(data.vector, dtype=np.float64)
    proj = fit_projection(np.vstack([pos, neg]), v)
    p2, n2 = proj.points(pos), proj.points(neg)
    arrow = proj.direction(v)
    v_norm = float(np.linalg.norm(v))
    kept = float(np.linalg.norm(arrow)) / v_norm if v_norm > 0 else 0.0
    gap = pos.mean(axis=0) - neg.mean(axis=0)
    denom = float(np.linalg.norm(gap)) * v_norm
    cosine = float(gap @ v) / denom if denom > 0 else 0.0
    with figure_context():
        fig = new_figure(*SIZE)
        ax = fig.subplots()
        ax.scatter(p2[:, 0], p2[:, 1], color=SERIES[0], s=36, alpha=0.85, label=f"+ {_short(data.positive_label)}")
        ax.scatter(n2[:, 0], n2[:, 1], color=SERIES[1], s=36, alpha=0.85, label=f"- {_short(data.negative_label)}")
        pc, nc = p2.mean(axis=0), n2.mean(axis=0)
        ax.scatter(pc[0], pc[1], marker="X", s=140, color=SERIES[0], edgecolors="black", linewidths=0.8, zorder=5)
        ax.scatter(nc[0], nc[1], marker="X", s=140, color=SERIES[1], edgecolors="black", linewidths=0.8, zorder=5)
        for anchor, colour, label in (
            (data.positive_anchor, SERIES[0], "positive instruction alone"),
            (data.negative_anchor, SERIES[1], "negative instruction alone"),
        ):
            if anchor is not None:
                point = proj.points(np.asarray(anchor, dtype=np.float64)[None, :])[0]
                ax.scatter(
                    point[0], point[1], marker="*", s=220, color=colour, edgecolors="black", linewidths=0.8, zorder=5
                )
                inward = -1 if point[0] > (pc[0] + nc[0]) / 2 else 1  # label towards the middle, never off the edge
                ax.annotate(
                    label,
                    point,
                    xytext=(8 * inward, -14),
                    textcoords="offset points",
                    ha="right" if inward < 0 else "left",
                    fontsize=8,
                    color=colour,
                )
        ax.annotate(
            "",
            xy=(nc[0] + arrow[0], nc[1] + arrow[1]),
            xytext=(nc[0], nc[1]),
            arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 2.0, "mutation_scale": 18},
            zorder=6,
        )
        ax.plot([], [], color="black", lw=2.0, label="steering vector v (projected), from the - centroid")
        ax.scatter([], [], marker="X", s=80, color="#888888", edgecolors="black", label="centroids")
        ax.set_xlabel(f"PC1 ({100 * proj.explained[0]:.1f}% of variance)")
        ax.set_ylabel(f"PC2 ({100 * proj.explained[1]:.1f}% of variance)")
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(loc="best", framealpha=0.9)
        ax.set_title(f"Style basins: {data.style} at layer {data.layer} ({data.model})")
        note(
            fig,
            f"{len(pos)} + {len(neg)} prompts: each pole's instruction + a neutral question, read at the last "
            f"token. ||v|| = {v_norm:.2f}; the plane keeps {100 * kept:.0f}% of it; "
            f"cos(v, centroid difference) = {cosine:.2f} (full space).",
        )
    return fig
