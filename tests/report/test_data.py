"""The figures' data classes: round trips, the producers' formats, and typed errors."""

from __future__ import annotations

import math

import pytest

from steering_core.errors import InvalidParameterError
from steering_core.plots.data import (
    AnatomyData,
    BasinsData,
    BoardData,
    HeatmapData,
    LensData,
    PhaseData,
    SweepData,
)
from steering_core.sweep import SweepCell, SweepResult
from tests.report.helpers import load


@pytest.mark.parametrize(
    ("cls", "file"),
    [(AnatomyData, "anatomy.json"), (BasinsData, "basins.json"), (LensData, "lens.json"), (SweepData, "sweep.json")],
)
def test_round_trip(cls: type, file: str) -> None:
    value = cls.from_dict(load(file))
    assert cls.from_dict(value.to_dict()) == value


def test_board_round_trip_and_list_form() -> None:
    board = BoardData.from_dict(load("board.json"))
    assert BoardData.from_dict(board.to_dict()) == board
    assert board.groups == list(dict.fromkeys(r["group"] for r in load("board.json")))


def test_phase_and_heatmap_accept_bare_sweeps() -> None:
    sweep = load("sweep.json")
    assert PhaseData.from_dict(sweep).layer == 12  # middle swept layer
    assert PhaseData.from_dict(sweep, layer=6).layer == 6
    phase = PhaseData.from_dict(sweep, layer=18)
    assert PhaseData.from_dict(phase.to_dict()) == phase
    heat = HeatmapData.from_dict(sweep)
    assert heat.metric == "words" and HeatmapData.from_dict(heat.to_dict()) == heat
    with pytest.raises(InvalidParameterError):
        PhaseData.from_dict(sweep, layer=7)
    with pytest.raises(InvalidParameterError):
        HeatmapData.from_dict(sweep, metric="formality")  # not recorded in the cells


def test_sweep_reads_sweep_result_and_recomputes_its_thresholds() -> None:
    answers = ["one two three", "four five"]
    cells = [
        SweepCell(
            layer=4, alpha=0.1, ratio=0.05, mean_words=2.5, n_degenerate=0, n_identical=2, phase="dead", answers=answers
        ),
        SweepCell(
            layer=4,
            alpha=0.5,
            ratio=0.25,
            mean_words=1.5,
            n_degenerate=0,
            n_identical=0,
            phase="effective",
            answers=["a", "b"],
        ),
        SweepCell(
            layer=4,
            alpha=1.0,
            ratio=0.5,
            mean_words=1.0,
            n_degenerate=0,
            n_identical=0,
            phase="effective",
            answers=["a", "b"],
        ),
        SweepCell(
            layer=4,
            alpha=2.0,
            ratio=1.0,
            mean_words=0.0,
            n_degenerate=2,
            n_identical=0,
            phase="collapse",
            answers=["", ""],
        ),
    ]
    result = SweepResult(style="terse", prompts=["q1", "q2"], baseline=answers, cells=cells, max_new_tokens=16)
    data = SweepData.from_dict(result.to_dict())
    assert data.n_prompts == 2 and data.cells[0].n_answers == 2
    assert data.baseline_mean_words == result.baseline_mean_words
    assert data.thresholds()[4] == result.thresholds()[0]
    assert data.cells[3].coherence == 0.0 and data.cells[1].coherence == 1.0


def test_anatomy_ratios_use_the_core_definition() -> None:
    data = AnatomyData.from_dict(load("anatomy.json"))
    for ratio, v, h in zip(data.ratios(), data.vector_norm, data.median_norm, strict=True):
        assert math.isclose(ratio, abs(data.alpha) * v / h, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("cls", "file", "mutate"),
    [
        (AnatomyData, "anatomy.json", lambda d: d.update(vector_norm=d["vector_norm"][:-1])),
        (AnatomyData, "anatomy.json", lambda d: d.update(alpha=float("nan"))),
        (AnatomyData, "anatomy.json", lambda d: d.pop("layers")),
        (AnatomyData, "anatomy.json", lambda d: d.update(selected_layer=99)),
        (SweepData, "sweep.json", lambda d: d["cells"][0].update(phase="sideways")),
        (SweepData, "sweep.json", lambda d: d["cells"][0].update(n_degenerate=9)),
        (SweepData, "sweep.json", lambda d: d.update(cells=[])),
        (BasinsData, "basins.json", lambda d: d["positive"][0].append(1.0)),
        (LensData, "lens.json", lambda d: d["lenses"][0].update(steered=1.5)),
        (LensData, "lens.json", lambda d: d.update(lenses=d["lenses"][:2])),
        (BoardData, "board.json", lambda d: d[0].pop("status")),
    ],
)
def test_malformed_data_raises_typed_errors(cls: type, file: str, mutate: object) -> None:
    data = load(file)
    mutate(data)  # type: ignore[operator]
    with pytest.raises(InvalidParameterError):
        cls.from_dict(data)
