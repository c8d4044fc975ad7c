"""Build the report folder from :class:`~steering_core.report.data.ReportData`: figures, data, page.

Layout of ``out/``::

    index.html            the page (inline CSS, no JavaScript, relative links only)
    figures/<name>.png    every figure as PNG (what the page shows) ...
    figures/<name>.svg    ... and as SVG (linked from each PNG)
    data/<part>.json      every input (see steering_core.report.data), so the page rebuilds offline

The folder is written atomically (:func:`steering_core.atomic.atomic_dir`): everything goes into
a temporary sibling folder, which then replaces ``out`` by rename (an existing report is moved
aside first and deleted after), so an interrupted build never leaves a half-written report.
``out`` must be absent, empty, or an earlier report (it holds ``index.html`` or
``data/meta.json``); anything else is refused rather than deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from steering_core.atomic import atomic_dir
from steering_core.errors import InvalidParameterError
from steering_core.plots.data import HeatmapData, PhaseData, SweepData
from steering_core.plots.registry import spec
from steering_core.plots.style import DPI, save
from steering_core.report.data import ReportData
from steering_core.report.html import FigureRef, render_page
from steering_core.report.sources import style_metric

CAPTIONS: dict[str, str] = {
    "anatomy": "Per layer: median residual norm (first token excluded), first-token norm (attention sink), "
    "the style vector's norm, and the perturbation ratio at the chosen alpha.",
    "phase": "Mean answer words and coherence (1 - degenerate/answers) against alpha at one layer; dead zone, "
    "effective band and collapse region shaded from the measured thresholds.",
    "heatmap": "Change of mean answer words against the baseline for every swept (layer, alpha); collapsed cells "
    "hatched.",
    "heatmap_metric": "The same grid coloured by the style's own metric.",
    "basins": "PCA of last-token activations of prompts made of each pole's instruction plus a neutral question; "
    "the arrow is the steering vector projected onto the plane, drawn from the negative centroid.",
    "radar": "Share of answer words matched by each of the lenses, unsteered against steered, with the band rings "
    "(clean < 1%, ambient 1-3%, captured 3-5%, full > 5%).",
    "board": "Every conjecture of the registry as a tile coloured by its status, with its evidence count.",
}


def _figure_jobs(data: ReportData) -> dict[str, tuple[str, Any]]:
    """``output name -> (figure kind, data dict)`` for every figure the data supports."""
    jobs: dict[str, tuple[str, Any]] = {}
    if data.anatomy is not None:
        jobs["anatomy"] = ("anatomy", data.anatomy)
    if data.sweep is not None:
        sweep = SweepData.from_dict(data.sweep)
        jobs["phase"] = ("phase", PhaseData(sweep, data.phase_layer()))
        jobs["heatmap"] = ("heatmap", HeatmapData(sweep, "words"))
        metric = style_metric(sweep.style or data.meta.get("style"))
        if metric != "words" and all(metric in c.metrics for c in sweep.cells) and metric in sweep.baseline_metrics:
            jobs["heatmap_metric"] = ("heatmap", HeatmapData(sweep, metric))
    if data.basins is not None:
        jobs["basins"] = ("basins", data.basins)
    if data.lens is not None:
        jobs["radar"] = ("radar", data.lens)
    board = data.board or {}
    if board.get("available"):
        jobs["board"] = ("board", {"rows": board.get("rows", [])})
    return jobs


def render_figures(data: ReportData, folder: Path, say: Callable[[str], None] | None = None) -> dict[str, FigureRef]:
    """Render every supported figure into ``folder`` as PNG and SVG; references relative to the page."""
    refs: dict[str, FigureRef] = {}
    for name, (kind, value) in _figure_jobs(data).items():
        figure_spec = spec(kind)
        fig = figure_spec.draw(figure_spec.read(value) if isinstance(value, dict) else value)
        png, svg = save(fig, folder / f"{name}.png"), save(fig, folder / f"{name}.svg")
        width, height = fig.get_size_inches()
        refs[name] = FigureRef(
            f"{folder.name}/{png.name}",
            f"{folder.name}/{svg.name}",
            round(float(width) * DPI),
            round(float(height) * DPI),
            figure_spec.title,
            CAPTIONS.get(name, figure_spec.title),
        )
        if say is not None:
            say(f"figure {name}: {png.name}, {svg.name}")
    return refs


def _check_target(out: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise InvalidParameterError("out", "a folder (absent, empty, or an earlier report)", f"{out} is a file")
    is_report = (out / "index.html").is_file() or (out / "data" / "meta.json").is_file()
    if any(out.iterdir()) and not is_report:
        raise InvalidParameterError(
            "out", "an absent or empty folder, or an earlier report (refusing to replace other files)", str(out)
        )


def build_report(data: ReportData, out: str | Path, say: Callable[[str], None] | None = None) -> Path:
    """Write the report for ``data`` to ``out`` atomically (see the module docstring); returns ``out/index.html``.

    Raises:
        InvalidParameterError: ``out`` exists and is neither empty nor an earlier report.
    """
    target = Path(out).resolve()
    _check_target(target)
    with atomic_dir(target) as tmp:
        data.write(tmp / "data")
        refs = render_figures(data, tmp / "figures", say)
        (tmp / "index.html").write_text(render_page(data, refs), encoding="utf-8")
    return target / "index.html"
