"""Figure construction and deterministic saving, shared by every figure module.

Figures are built with matplotlib's object-oriented API (:class:`matplotlib.figure.Figure`
attached to an Agg canvas); ``pyplot`` is never imported, so no GUI backend and no global
figure registry is involved, and rendering works headless.

Determinism contract: for fixed inputs and a fixed matplotlib/freetype build, :func:`save`
writes byte-identical files.

* Size: each figure has a fixed size in inches and :data:`DPI`; :func:`save` never crops
  (no ``bbox_inches="tight"``), so a PNG is exactly ``round(width_in * DPI)`` x
  ``round(height_in * DPI)`` pixels.
* PNG: the ``Software`` text chunk is dropped (``metadata={"Software": None}``); matplotlib
  writes no date into PNGs.
* SVG: ``metadata={"Date": None}`` drops the timestamp, ``svg.hashsalt`` fixes the element
  ids, and text is rendered as paths (``svg.fonttype = "path"``), so no system font is needed
  to view it.
* Style: every figure is created and saved inside :func:`figure_context`, which pins the
  rcParams the figures depend on (font, sizes, line widths) instead of inheriting a user's
  ``matplotlibrc``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from steering_core.atomic import atomic_file
from steering_core.errors import InvalidParameterError

DPI = 100
"""Dots per inch of every saved raster (PNG) figure."""

SVG_HASHSALT = "steering-spec"
FORMATS: tuple[str, ...] = ("png", "svg")

PHASE_COLOURS: dict[str, str] = {"dead": "#9e9e9e", "effective": "#2e7d32", "collapse": "#c62828"}
"""Colour of each sweep phase (dead zone grey, effective band green, collapse red)."""

SERIES: tuple[str, ...] = ("#1f4e79", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d96a3")
"""A fixed palette for line series (colour-blind-distinguishable by lightness as well as hue)."""

RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.labelsize": 10.0,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "legend.fontsize": 8.5,
    "figure.titlesize": 12.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.8,
    "lines.markersize": 5.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": SVG_HASHSALT,
    "svg.fonttype": "path",
    "path.simplify": False,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
}


@contextmanager
def figure_context() -> Iterator[None]:
    """Pin the rcParams of :data:`RC` for the duration of figure creation or saving."""
    with rc_context(cast(Any, RC)):
        yield


def new_figure(width_in: float, height_in: float) -> Figure:
    """A blank figure of ``width_in`` x ``height_in`` inches at :data:`DPI`, on an Agg canvas.

    Uses the constrained layout engine (deterministic; keeps the figure size fixed).
    Call inside :func:`figure_context` so the pinned style applies to the artists you add.
    """
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def pixel_size(fig: Figure) -> tuple[int, int]:
    """``(width, height)`` in pixels of ``fig`` saved as PNG by :func:`save`."""
    width, height = fig.get_size_inches()
    return round(float(width) * DPI), round(float(height) * DPI)


def image_format(path: Path) -> str:
    """``"png"`` or ``"svg"`` from the file suffix.

    Raises:
        InvalidParameterError: any other suffix.
    """
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise InvalidParameterError("out", f"a file name ending in one of {['.' + f for f in FORMATS]}", str(path))
    return suffix


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (PNG or SVG by suffix), deterministically (see the module docstring).

    The parent folder is created; the file is written atomically (:func:`steering_core.atomic.atomic_file`).
    Returns the path written.
    """
    target = Path(path)
    fmt = image_format(target)
    metadata: dict[str, Any] = {"Software": None} if fmt == "png" else {"Date": None, "Creator": "steering-spec"}
    with figure_context(), atomic_file(target) as tmp:
        fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata)
    return target


def note(fig: Figure, text: str) -> None:
    """A small grey footnote at the bottom-left of the figure (definitions, data provenance).

    Set as the figure's ``supxlabel`` so the constrained layout keeps room for it; wrapped to the
    figure's width (about 17 characters per inch at this font size).
    """
    width = int(float(fig.get_size_inches()[0]) * 17)
    fig.supxlabel(textwrap.fill(text, width), x=0.01, ha="left", fontsize=7.5, color="#555555", linespacing=1.3)
