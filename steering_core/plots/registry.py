"""The figure registry: name -> data class, drawing function, size; and one-call rendering."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from steering_core.errors import InvalidParameterError
from steering_core.plots import FIGURE_NAMES, anatomy, basins, board, heatmap, phase, radar
from steering_core.plots.data import AnatomyData, BasinsData, BoardData, HeatmapData, LensData, PhaseData
from steering_core.plots.style import save


@dataclass(frozen=True)
class FigureSpec:
    """One figure kind: how to read its data, how to draw it, and its size in inches."""

    name: str
    title: str
    read: Callable[[Any], Any]
    draw: Callable[[Any], Figure]
    size: tuple[float, float]


FIGURES: dict[str, FigureSpec] = {
    "anatomy": FigureSpec("anatomy", "Layer anatomy", AnatomyData.from_dict, anatomy.anatomy_figure, anatomy.SIZE),
    "phase": FigureSpec("phase", "Alpha phase diagram", PhaseData.from_dict, phase.phase_figure, phase.SIZE),
    "heatmap": FigureSpec(
        "heatmap", "Layer x alpha heat map", HeatmapData.from_dict, heatmap.heatmap_figure, heatmap.SIZE
    ),
    "basins": FigureSpec("basins", "Style basins", BasinsData.from_dict, basins.basins_figure, basins.SIZE),
    "radar": FigureSpec("radar", "Lens radar", LensData.from_dict, radar.radar_figure, radar.SIZE),
    "board": FigureSpec("board", "Conjecture board", BoardData.from_dict, board.board_figure, board.SIZE),
}
if tuple(FIGURES) != FIGURE_NAMES:  # pragma: no cover - a figure added here must be named there too
    raise RuntimeError(f"steering_core.plots.FIGURE_NAMES {FIGURE_NAMES} != the registry's {tuple(FIGURES)}")


def spec(name: str) -> FigureSpec:
    """The registered figure ``name``.

    Raises:
        InvalidParameterError: unknown name (the message lists the known ones).
    """
    if name not in FIGURES:
        raise InvalidParameterError("figure", f"one of {list(FIGURES)}", repr(name))
    return FIGURES[name]


def render(name: str, data: Any, paths: list[Path] | Path) -> list[Path]:
    """Draw figure ``name`` from ``data`` (its data class, or a dict for its ``from_dict``) and save it
    to every path in ``paths`` (format by suffix). Returns the paths written."""
    figure_spec = spec(name)
    value = figure_spec.read(data) if isinstance(data, Mapping | list) else data
    fig = figure_spec.draw(value)
    targets = [paths] if isinstance(paths, Path) else list(paths)
    return [save(fig, p) for p in targets]
