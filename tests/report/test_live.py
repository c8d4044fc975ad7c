"""The live gathering path on a tiny random model (seconds): anatomy, basins, a quick sweep, a
certificate verified against the model, recorded behaviour/bench/matrix files, then the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from steering_core.certify import Protocol, certify_vector, write_certified
from steering_core.errors import InvalidParameterError, LayerOutOfRangeError, UnknownStyleError
from steering_core.extract import extract
from steering_core.models import LoadedModel
from steering_core.plots.data import AnatomyData, BasinsData, SweepData
from steering_core.report import build_report
from steering_core.report.gather import ReportOptions, gather
from steering_core.report.live import sweep_layers
from tests.conftest import make_tiny_model, make_tokenizer
from tests.report.helpers import DATA


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny() -> LoadedModel:
    return LoadedModel(model=make_tiny_model("qwen3"), tokenizer=make_tokenizer(), name="tiny-qwen3", source="memory")


def options(tmp: Path, **extra: object) -> ReportOptions:
    base: dict[str, object] = {
        "style": "terse",
        "layer": 2,
        "alpha": 1.0,
        "behaviour": DATA / "behaviour.json",  # supplies the lens part: no live lens eval
        "bench": DATA / "bench.json",
        "matrix_json": DATA / "matrix.json",
        "sweep_layers": [1, 2],
        "sweep_alphas": [0.5, 8.0],
        "sweep_prompts": 2,
        "max_new_tokens": 4,
    }
    base.update(extra)
    return ReportOptions(**base)  # type: ignore[arg-type]


def test_gather_and_build(tiny: LoadedModel, tmp_path: Path) -> None:
    vector = extract(tiny, style="terse", layers=[2])
    protocol = Protocol(calibration_prompts=4, behaviour_prompts=4, max_new_tokens=8, alphas=(1e-4, 1.0, 100.0))
    cert = write_certified(tmp_path / "v.safetensors", certify_vector(tiny, vector, protocol=protocol))
    said: list[str] = []
    data = gather(options(tmp_path, vectors=[cert]), said.append, lm=tiny)
    anatomy = AnatomyData.from_dict(data.anatomy or {})
    assert anatomy.layers == (0, 1, 2, 3) and anatomy.selected_layer == 2
    basins = BasinsData.from_dict(data.basins or {})
    assert len(basins.positive) == len(basins.negative) == 12 and len(basins.vector) == 64
    sweep = SweepData.from_dict(data.sweep or {})
    assert sweep.layers == [1, 2] and sweep.alphas == [0.5, 1.0, 8.0]  # the report's alpha is added
    assert any("sweep 6/6" in s for s in said)
    assert data.lens is not None and data.lens["style"] == "terse"
    assert data.certificates[0]["ok"], data.certificates[0]["rendered"]
    assert {r["name"] for r in data.certificates[0]["results"]} >= {"digest", "model.fingerprint"}
    assert data.meta["model"] == "tiny-qwen3" and len(data.meta["fingerprint"]["weights"]) == 64
    page = build_report(data, tmp_path / "report").read_text(encoding="utf-8")
    assert re.findall(r'<section id="([a-z]+)">', page)[-3:] == ["contracts", "certificates", "benchmarks"]
    assert "live quick sweep" in page


def test_quick_runs_no_generation(tiny: LoadedModel, tmp_path: Path) -> None:
    opts = options(tmp_path, quick=True)
    opts.behaviour = tmp_path / "empty.json"
    opts.behaviour.write_text("{}")  # no lens, no sweeps: nothing recorded to fall back on
    quick = gather(opts, lm=tiny)
    assert quick.sweep is None and "--quick" in quick.note("sweep")
    assert quick.lens is None and "--quick" in quick.note("lens")
    assert quick.anatomy is not None and quick.basins is not None


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"style": "sarcastic"}, UnknownStyleError),
        ({"layer": 9}, LayerOutOfRangeError),
        ({"sweep": Path("does-not-exist.json")}, InvalidParameterError),
        ({"matrix": "slow"}, InvalidParameterError),
        ({"vectors": [Path("missing.safetensors")]}, InvalidParameterError),
    ],
)
def test_bad_options_fail_before_generation(
    tiny: LoadedModel, tmp_path: Path, extra: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        gather(options(tmp_path, **extra), lm=tiny)


def test_default_sweep_layers() -> None:
    assert sweep_layers(24) == [6, 12, 18]
    assert sweep_layers(4) == [1, 2, 3]
