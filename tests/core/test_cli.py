"""The ``steer`` command line on a tiny model saved to disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from steering_core.cli import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import make_tiny_model, make_tokenizer

    path = tmp_path_factory.mktemp("tiny")
    make_tiny_model("qwen3").save_pretrained(path)
    make_tokenizer().save_pretrained(path)
    return path


def test_generate_prints_side_by_side(model_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_json = tmp_path / "g.json"
    code = main(
        [
            "generate",
            "--model",
            str(model_dir),
            "--layers",
            "1",
            "--alpha",
            "2",
            "--prompt",
            "Hi there.",
            "--max-new-tokens",
            "6",
            "--no-progress",
            "--json",
            str(out_json),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "baseline (" in out and "steered (" in out and "perturbation ratio" in out
    data = json.loads(out_json.read_text())
    assert data["layer"] == 1 and data["perturbation_ratio"] > 0


def test_sweep_writes_json(model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "sweep.json"
    code = main(
        [
            "sweep",
            "--model",
            str(model_dir),
            "--layers",
            "1",
            "--alphas",
            "0,1,50",
            "--n-prompts",
            "2",
            "--max-new-tokens",
            "5",
            "--no-progress",
            "--json",
            str(target),
        ]
    )
    assert code == 0
    data = json.loads(target.read_text())
    assert [c["alpha"] for c in data["cells"]] == [0.0, 1.0, 50.0]
    assert data["cells"][0]["phase"] == "dead"
    assert "thresholds" in data and "layer 1:" in capsys.readouterr().out


def test_diagnose_table(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "--model", str(model_dir), "--alpha", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["layer", "median|h|", "first|h|"]
    assert len([x for x in lines if x.strip()[:1].isdigit()]) == 4


def test_bad_input_exits_2_with_a_clear_message(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--model", str(model_dir), "--style", "grumpy", "--no-progress"]) == 2
    assert "unknown style 'grumpy'" in capsys.readouterr().err
    assert main(["generate", "--model", str(model_dir), "--layers", "9", "--no-progress"]) == 2
    assert "[0, 3]" in capsys.readouterr().err


def test_fold_exports_a_loadable_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from transformers import AutoModelForCausalLM

    from tests.conftest import make_tiny_model, make_tokenizer

    source = tmp_path / "llama"
    make_tiny_model("llama").save_pretrained(source)
    make_tokenizer().save_pretrained(source)
    out = tmp_path / "steered"
    assert main(["fold", "--model", str(source), "--layers", "1,2", "--alpha", "2", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    reloaded = AutoModelForCausalLM.from_pretrained(str(out))
    assert reloaded.model.layers[1].mlp.down_proj.bias is not None
    assert (
        main(["fold", "--model", str(model_dir_qwen3(tmp_path)), "--layers", "1", "--out", str(tmp_path / "no")]) == 2
    )
    assert "cannot write a folded 'qwen3'" in capsys.readouterr().err


def model_dir_qwen3(tmp_path: Path) -> Path:
    from tests.conftest import make_tiny_model, make_tokenizer

    path = tmp_path / "qwen3"
    make_tiny_model("qwen3").save_pretrained(path)
    make_tokenizer().save_pretrained(path)
    return path
