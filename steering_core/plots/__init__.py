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

from typing import TYPE_CHECKING, Any

from steering_core.lazy import lazy_attribute

if TYPE_CHECKING:
    from steering_core.plots.registry import FIGURES, FigureSpec, render

FIGURE_NAMES: tuple[str, ...] = ("anatomy", "phase", "heatmap", "basins", "radar", "board")
"""The figures' names, in :data:`FIGURES` order (without importing matplotlib: ``steer plot``'s choices)."""

# deferred: each name loads its module on first use, so importing the package (e.g. for one
# light submodule, or while `steer --help` builds its parser) pulls in nothing heavy.
_EXPORTS: dict[str, str] = {
    "FIGURES": "steering_core.plots.registry",
    "FigureSpec": "steering_core.plots.registry",
    "render": "steering_core.plots.registry",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)


__all__ = ["FIGURES", "FIGURE_NAMES", "FigureSpec", "render"]
