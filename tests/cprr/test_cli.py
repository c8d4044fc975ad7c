"""``steer cprr`` through its own argparse wiring (``add_subcommands``), on tiny registries and a tiny model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from steering_core.cprr.board import BOARD_KEYS
from steering_core.cprr.cli import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import make_tiny_model, make_tokenizer

    path = tmp_path_factory.mktemp("tiny-model")
    make_tiny_model("qwen2").save_pretrained(path)
    make_tokenizer().save_pretrained(path)
    return path


def test_run_board_check_cite(
    model_dir: Path, tiny_registry: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(tiny_registry(["H-SV-1", "C-6"], model_name=str(model_dir)))
    assert main(["run", "--all", "--fast", "--registry", folder]) == 0
    out = capsys.readouterr().out
    assert out.startswith("H-SV-1: ") and "C-6" not in out  # C-6 generates: not fast
    assert main(["run", "H-SV-1", "--registry", folder]) == 0
    assert "reproduces the previous run" in capsys.readouterr().out
    assert main(["board", "--registry", folder]) == 0
    board = capsys.readouterr().out
    assert "H-SV-1" in board and "C-6" in board and "2 entries" in board
    assert main(["board", "--json", "--registry", folder]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [tuple(r) for r in rows] == [BOARD_KEYS, BOARD_KEYS]
    assert rows[1]["n_evidence"] == 2 and rows[1]["last_verdict"] in ("pass", "fail")
    assert main(["check", "--no-git", "--registry", folder]) == 0
    assert "0 problem(s)" in capsys.readouterr().out
    assert main(["cite", "H-SV-1", "--format", "latex", "--registry", folder]) == 0
    assert r"\texttt{H-SV-1}" in capsys.readouterr().out


def test_check_fails_on_a_hand_edit(tiny_registry: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    folder = tiny_registry(["H-SV-1"])
    path = folder / "H-SV-1.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["status"] = "confirmed"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    assert main(["check", "--no-git", "--registry", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "H-SV-1.json: status 'confirmed' but the evidence supports 'open'" in out


def test_errors_exit_2_with_one_line(tiny_registry: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(tiny_registry(["H-SV-1"]))
    for argv, message in (
        (["run", "--registry", folder], "give at least one conjecture id"),
        (["run", "H-SV-1", "--all", "--registry", folder], "not both"),
        (["run", "H-SV-1", "--fast", "--registry", folder], "--fast selects among --all"),
        (["cite", "C-99", "--registry", folder], "unknown id 'C-99'"),
        (["transition", "H-SV-1", "confirmed", "--registry", folder], "not a lifecycle edge"),
        (["transition", "H-SV-1", "testing", "--registry", folder], "testing needs at least 1 conforming"),
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
