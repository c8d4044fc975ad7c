"""``steer plot`` and ``steer report --from-data`` through their own argparse parser (no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steering_core.report.cli import build_parser, main
from tests.report.helpers import DATA, assert_png, assert_svg, png_size


def test_plot_png_and_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["plot", "phase", "--data", str(DATA / "sweep.json"), "--layers", "18", "--out", str(tmp_path / "p.png")])
        == 0
    )
    assert png_size((tmp_path / "p.png").read_bytes()) == (900, 550)
    assert "900x550" in capsys.readouterr().out
    assert main(["plot", "radar", "--data", str(DATA / "lens.json"), "--out", str(tmp_path / "r.svg")]) == 0
    assert_svg(tmp_path / "r.svg")
    assert main(["plot", "anatomy", "--data", str(DATA / "anatomy.json"), "--out", str(tmp_path / "a.png")]) == 0
    assert_png(tmp_path / "a.png", (1000, 700))


@pytest.mark.parametrize(
    "argv",
    [
        ["plot", "phase", "--data", "missing.json", "--out", "x.png"],
        ["plot", "phase", "--data", str(DATA / "sweep.json"), "--out", "x.jpg"],
        ["plot", "phase", "--data", str(DATA / "sweep.json"), "--layers", "5", "--out", "x.png"],
        ["plot", "heatmap", "--data", str(DATA / "sweep.json"), "--metric", "formality", "--out", "x.png"],
        ["plot", "basins", "--data", str(DATA / "lens.json"), "--out", "x.png"],
        ["report", "--from-data", "nowhere", "--out", "x"],
    ],
)
def test_bad_input_exits_2_with_one_line(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a if a != "x.png" and a != "x.jpg" and a != "x" else str(tmp_path / a) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("steer: error:")


def test_report_from_data_rebuilds_offline(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "meta.json").write_text(json.dumps({"style": "terse", "layer": 12, "alpha": 0.5, "model": "m"}))
    for name in ("anatomy", "sweep", "lens"):
        (data / f"{name}.json").write_text((DATA / f"{name}.json").read_text())
    assert main(["report", "--from-data", str(data), "--out", str(tmp_path / "out")]) == 0
    html = (tmp_path / "out" / "index.html").read_text()
    assert "figures/anatomy.png" in html and "figures/radar.png" in html and "figures/basins.png" not in html


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["report"])
    assert (args.out, args.style, args.layers, args.alpha, args.matrix, args.quick) == (
        "report",
        "terse",
        [12],
        0.5,
        "fast",
        False,
    )
    assert args.vector == []
