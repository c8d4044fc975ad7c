"""Every figure from small recorded data: valid, sized, non-blank PNGs; parseable SVGs; determinism."""

from __future__ import annotations

from pathlib import Path

import pytest

from steering_core.errors import InvalidParameterError
from steering_core.plots import FIGURES, render
from steering_core.plots.style import DPI, image_format, pixel_size, save
from tests.report.helpers import RECORDED, assert_png, assert_svg, load


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_renders_valid_png_and_svg(name: str, tmp_path: Path) -> None:
    figure = FIGURES[name]
    png, svg = render(name, load(RECORDED[name]), [tmp_path / f"{name}.png", tmp_path / f"{name}.svg"])
    width, height = figure.size
    assert_png(png, (round(width * DPI), round(height * DPI)))
    assert_svg(svg)


@pytest.mark.parametrize("name", ["phase", "radar", "heatmap"])
def test_rendering_is_byte_identical(name: str, tmp_path: Path) -> None:
    data = load(RECORDED[name])
    first = render(name, data, [tmp_path / "a.png", tmp_path / "a.svg"])
    second = render(name, data, [tmp_path / "b.png", tmp_path / "b.svg"])
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), f"{a.suffix} differs between two renders"
    assert b"Software" not in first[0].read_bytes()


def test_pixel_size_matches_saved_png(tmp_path: Path) -> None:
    figure = FIGURES["basins"]
    fig = figure.draw(figure.read(load("basins.json")))
    path = save(fig, tmp_path / "x.png")
    from tests.report.helpers import png_size

    assert png_size(path.read_bytes()) == pixel_size(fig)


def test_bad_suffix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError):
        image_format(tmp_path / "figure.jpg")


def test_empty_board_still_draws(tmp_path: Path) -> None:
    (png,) = render("board", [], [tmp_path / "board.png"])
    width, height = FIGURES["board"].size
    assert_png(png, (round(width * DPI), round(height * DPI)))


def test_phase_with_negative_and_zero_alphas(tmp_path: Path) -> None:
    sweep = load("sweep.json")
    cells = [c for c in sweep["cells"] if c["layer"] == 12]
    extra = [dict(c, alpha=-c["alpha"]) for c in cells[:2]] + [dict(cells[0], alpha=0.0, phase="dead")]
    sweep["cells"] = cells + extra
    (png,) = render("phase", {"layer": 12, "sweep": sweep}, [tmp_path / "p.png"])
    assert png.stat().st_size > 1000


def synthetic_sweep() -> dict[str, object]:
    """One layer with every phase: dead at 0.01, effective 0.1-1, collapse at 2 and 4."""
    phases = {
        0.01: ("dead", 0, 4),
        0.1: ("effective", 0, 1),
        1.0: ("effective", 1, 0),
        2.0: ("collapse", 2, 0),
        4.0: ("collapse", 4, 0),
    }
    cells = [
        {
            "layer": 12,
            "alpha": a,
            "ratio": 0.6 * a,
            "mean_words": 40.0 / (1 + a),
            "n_degenerate": d,
            "n_identical": i,
            "n_answers": 4,
            "phase": p,
        }
        for a, (p, d, i) in phases.items()
    ]
    return {"style": "terse", "max_new_tokens": 32, "n_prompts": 4, "baseline": {"mean_words": 40.0}, "cells": cells}


def test_phase_regions_follow_the_thresholds(tmp_path: Path) -> None:
    from steering_core.plots.data import PhaseData
    from steering_core.plots.phase import _span, phase_figure

    data = PhaseData.from_dict(synthetic_sweep(), layer=12)
    t = data.sweep.thresholds()[12]
    assert (t.dead_max, t.effective_min, t.effective_max, t.collapse_min) == (0.01, 0.1, 1.0, 2.0)
    alphas = [0.01, 0.1, 1.0, 2.0, 4.0]
    assert _span(alphas, 0.1, 1.0, True, 0.005, 8.0) == pytest.approx((0.1**0.5 * 0.01**0.5, 2.0**0.5))
    assert _span(alphas, 0.01, 0.01, True, 0.005, 8.0)[0] == 0.005
    fig = phase_figure(data)
    ax = fig.axes[0]
    spans = [p for p in ax.patches if p.get_width() > 0]  # the three shaded regions (axvspan rectangles)
    assert len(spans) == 3
    assert_png(save(fig, tmp_path / "phase.png"), (900, 550))


def test_radar_scale_grows_with_large_scores(tmp_path: Path) -> None:
    lens = load("lens.json")
    for i, row in enumerate(lens["lenses"]):
        row["steered"] = 0.02 * i  # up to 22%: beyond the 5% band
    (png,) = render("radar", lens, [tmp_path / "radar.png"])
    assert_png(png, (1000, 800))
