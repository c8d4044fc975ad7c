"""Figures of a steering run, as static images (matplotlib, Agg, no pyplot).

One module per figure, each a function ``data -> matplotlib.figure.Figure`` taking a plain
dataclass of :mod:`steering_core.plots.data`; :func:`steering_core.plots.style.save` writes PNG
or SVG deterministically. :data:`FIGURES` maps each figure's name to its data class, its
function and its fixed size, for ``steer plot`` and the HTML report.

========  ==========================================  =============================
name      shows                                       data
========  ==========================================  =============================
anatomy   per-layer norms and perturbation ratio      :class:`~.data.AnatomyData`
phase     words and coherence against alpha, phases   :class:`~.data.PhaseData`
heatmap   layer x alpha effect, collapsed cells       :class:`~.data.HeatmapData`
basins    PCA of pole activations, steering arrow     :class:`~.data.BasinsData`
radar     12 lens scores, baseline vs steered         :class:`~.data.LensData`
board     conjecture statuses by group, evidence      :class:`~.data.BoardData`
========  ==========================================  =============================
"""

from __future__ import annotations

from steering_core.plots.registry import FIGURES, FigureSpec, render

__all__ = ["FIGURES", "FigureSpec", "render"]
