"""Every CLI failure is one clear line on stderr, a non-zero exit, and no traceback (point 5).

Runs the real ``steer`` entry point (``python -m steering_core.cli``) in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening._support import REPO, tiny_model, tiny_tokenizer


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")
    env.pop("STEER_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "steering_core.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
    )


def _progress(line: str) -> bool:
    """Progress output (ours, or a transformers/tqdm bar), not part of the failure report."""
    return line.startswith("[steer] ") or ("%|" in line and ("it/s" in line or "s/it" in line or "?" in line))


def assert_one_line_failure(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not _progress(line)]
    assert proc.returncode != 0, proc
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert len(lines) == 1, proc.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-model")
    tiny_model("qwen2").save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return folder


def test_generate_with_a_folder_that_holds_no_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model\n")
    proc = run_cli("generate", "--model", str(tmp_path), "--prompt", "hi")
    assert_one_line_failure(proc, "holds no model", str(tmp_path))


def test_generate_with_a_path_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "model"
    proc = run_cli("generate", "--model", str(missing), "--prompt", "hi")
    line = assert_one_line_failure(proc, "no such path", str(missing))
    assert "cache" not in line.split(";")[0]


def test_generate_with_a_file_instead_of_a_folder(tmp_path: Path) -> None:
    file = tmp_path / "model.gguf"
    file.write_bytes(b"GGUF")
    assert_one_line_failure(run_cli("generate", "--model", str(file), "--prompt", "hi"), "not a model folder")


def test_generate_with_a_broken_model_folder(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    proc = run_cli("generate", "--model", str(tmp_path), "--prompt", "hi")
    assert_one_line_failure(proc, "not a loadable model folder")


def test_an_unwritable_output_path_is_one_line(tiny_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    proc = run_cli(
        "generate",
        "--model",
        str(tiny_dir),
        "--layers",
        "1",
        "--prompt",
        "hi",
        "--max-new-tokens",
        "2",
        "--no-progress",
        "--json",
        str(blocker / "out.json"),  # a path below a regular file
    )
    assert_one_line_failure(proc, "steer: error:")


def test_bad_arguments_through_the_cli(tiny_dir: Path) -> None:
    proc = run_cli("generate", "--model", str(tiny_dir), "--layers", "99", "--prompt", "hi", "--max-new-tokens", "2")
    assert_one_line_failure(proc, "layer")


def test_import_gguf_of_a_missing_file(tmp_path: Path) -> None:
    proc = run_cli("vector", "import-gguf", str(tmp_path / "missing.gguf"), "--out", str(tmp_path / "x.safetensors"))
    assert_one_line_failure(proc, "does not exist")


def test_spec_accepts_its_own_options() -> None:
    """``steer spec --skip-smt`` used to die in argparse ('unrecognized arguments')."""
    proc = run_cli("spec", "--skip-smt", "--skip-hypothesis", "--property", "P-additivity")
    assert "unrecognized arguments" not in proc.stderr and "Traceback" not in proc.stderr
    assert "P-additivity" in proc.stdout
    unknown = run_cli("spec", "--skip-smt", "--skip-hypothesis", "--property", "P-no-such-property")
    assert_one_line_failure(unknown, "unknown property")
