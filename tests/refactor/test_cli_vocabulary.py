"""One command-line vocabulary: ``--layers``, ``--json FILE``, verbs grouped by object.

Each old spelling (``steer certify`` ..., ``steer lens``, ``--layer N``, the bare ``cprr board
--json`` flag) still works for one release and prints a one-line deprecation note on stderr.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from steering_core.cli import build_parser, main
from steering_core.cli_options import NOTES_ATTR, deprecation_note

VECTOR_VERBS = ("certify", "verify", "sign", "keygen", "export-gguf", "import-gguf")
REQUIRED = {
    "certify": ["--out", "x.safetensors"],
    "verify": ["f"],
    "sign": ["f", "--key", "k"],
    "keygen": ["--out", "k"],
    "export-gguf": ["f"],
    "import-gguf": ["f", "--out", "o"],
}


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def notes(args: argparse.Namespace) -> list[str]:
    found: list[str] = list(getattr(args, NOTES_ATTR, []))
    verb = getattr(args, "_deprecated_verb", None)
    if verb is not None:
        found.append(deprecation_note(*verb))
    return found


@pytest.mark.parametrize("verb", VECTOR_VERBS)
def test_vector_verbs_live_under_steer_vector(verb: str) -> None:
    new = parse("vector", verb, *REQUIRED[verb])
    old = parse(verb, *REQUIRED[verb])
    assert new.func is old.func
    assert notes(new) == []
    assert notes(old) == [deprecation_note(f"steer {verb}", f"steer vector {verb}")]
    assert vars(new).keys() - {"vector_command"} == vars(old).keys() - {"_deprecated_verb"}


def test_lens_lives_under_behaviour() -> None:
    new = parse("behaviour", "lens")
    old = parse("lens")
    assert new.func is old.func and new.layers == old.layers == [12]
    assert notes(new) == [] and notes(old) == [deprecation_note("steer lens", "steer behaviour lens")]


def test_old_verbs_are_hidden_from_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--help")
    listing = capsys.readouterr().out
    assert "vector" in listing and "behaviour" in listing
    for old in (*VECTOR_VERBS, "lens"):
        assert f"\n    {old} " not in listing


@pytest.mark.parametrize(
    ("argv", "layers"),
    [
        (["generate"], [12]),
        (["generate", "--layers", "9"], [9]),
        (["generate", "--layer", "9"], [9]),
        (["sweep", "--layers", "6,12"], [6, 12]),
        (["sweep", "--layer", "6"], [6]),
        (["fold", "--layers", "6,12", "--out", "o"], [6, 12]),
        (["vector", "certify", "--layers", "10,12", "--out", "o"], [10, 12]),
        (["vector", "certify", "--layer", "10", "--out", "o"], [10]),
        (["vector", "certify", "--out", "o"], None),
        (["behaviour", "lens", "--layers", "7"], [7]),
        (["behaviour", "calibrate", "--layers", "8,16"], [8, 16]),
        (["report", "--layers", "5"], [5]),
        (["plot", "phase", "--data", "d", "--out", "o.png"], None),
    ],
)
def test_layers_is_one_option_everywhere(argv: list[str], layers: list[int] | None) -> None:
    args = parse(*argv)
    assert args.layers == layers
    deprecated = "--layer" in argv
    assert (deprecation_note("--layer", "--layers") in notes(args)) == deprecated


@pytest.mark.parametrize("command", [["generate"], ["behaviour", "lens"], ["report"]])
def test_single_layer_commands_refuse_several(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(*command, "--layers", "6,12")
    assert exit_info.value.code == 2
    assert "expected one layer index" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [["generate"], ["diagnose"], ["sweep"], ["behaviour", "lens"], ["conform", "--backend", "hf-hook"]],
)
def test_json_takes_a_file(command: list[str]) -> None:
    assert parse(*command, "--json", "out.json").json == "out.json"


def test_model_style_alpha_have_one_spelling() -> None:
    for argv in (["generate"], ["diagnose"], ["fold", "--out", "o"], ["behaviour", "lens"], ["report"]):
        args = parse(*argv)
        assert (args.model, args.style, args.alpha) == (None, "terse", 0.5), argv


def test_an_old_verb_runs_and_prints_its_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "--out", str(tmp_path / "k")]) == 0
    err = capsys.readouterr().err
    assert deprecation_note("steer keygen", "steer vector keygen") in err.splitlines()
    assert (tmp_path / "k").is_file() and (tmp_path / "k.pub").is_file()
    assert main(["vector", "keygen", "--out", str(tmp_path / "k2")]) == 0
    assert "deprecated" not in capsys.readouterr().err


def test_the_old_layer_flag_runs_and_prints_its_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = Path(__file__).resolve().parents[1] / "report" / "data" / "sweep.json"
    if not data.is_file():
        pytest.skip("recorded sweep data missing")
    out = tmp_path / "p.png"
    assert main(["plot", "phase", "--data", str(data), "--layer", "18", "--out", str(out)]) == 0
    assert deprecation_note("--layer", "--layers") in capsys.readouterr().err.splitlines()
    assert out.is_file()


def test_cprr_board_json_takes_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from steering_core.cprr.cli import main as cprr_main

    out = tmp_path / "board.json"
    assert cprr_main(["board", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert isinstance(rows, list) and rows
    capsys.readouterr()
    assert cprr_main(["board", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == rows and "deprecated" not in captured.err
    assert cprr_main(["board", "--json"]) == 0  # the old flag: stdout, with a note
    captured = capsys.readouterr()
    assert json.loads(captured.out) == rows
    assert "deprecated" in captured.err and "--json -" in captured.err
