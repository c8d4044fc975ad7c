"""Fixtures of the execution-layer tests: a tiny model saved to a folder (so separate worker
processes can load it by name), a seeded random vector, and a grid of cells over them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from steering_core.execute.cell import Cell, VectorPayload
from steering_core.vector import SteeringVector

PROMPTS = (
    "What is a mutex?",
    "Explain recursion.",
    "Why is the sky blue?",
    "Name a prime number.",
)


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random Qwen3 and its chat tokenizer, saved as a normal model folder."""
    from steering_core.tiny import make_tiny_model, make_tokenizer

    folder = tmp_path_factory.mktemp("tiny-model")
    make_tiny_model("qwen3").save_pretrained(folder)
    make_tokenizer().save_pretrained(folder)
    return str(folder)


def make_payload(seed: int = 0, layers: tuple[int, ...] = (1, 2), width: int = 64) -> VectorPayload:
    """A seeded Gaussian vector at ``layers`` (norm ~8 per layer), as a payload."""
    gen = torch.Generator().manual_seed(seed)
    vector = SteeringVector(
        directions={layer: torch.randn(width, generator=gen) for layer in layers}, hidden_size=width, style="random"
    )
    return VectorPayload.from_vector(vector, {"kind": "gaussian", "seed": seed})


def make_grid(model: str, max_new_tokens: int = 8, batch_size: int = 2) -> list[Cell]:
    """Unsteered chunks plus layers {1, 2} x alphas {0.5, 6} in prompt chunks of ``batch_size``."""
    payload = make_payload()
    chunks = [PROMPTS[i : i + batch_size] for i in range(0, len(PROMPTS), batch_size)]
    cells = [Cell(model, chunk, max_new_tokens, batch_size=batch_size) for chunk in chunks]
    for layer in (1, 2):
        for alpha in (0.5, 6.0):
            cells += [
                Cell(model, chunk, max_new_tokens, payload, (layer,), alpha, batch_size=batch_size) for chunk in chunks
            ]
    return cells


@pytest.fixture(scope="session")
def grid(tiny_folder: str) -> list[Cell]:
    """10 cells: 2 unsteered prompt chunks and 8 steered ones."""
    return make_grid(tiny_folder)


@pytest.fixture(scope="session")
def local_records(grid: list[Cell]) -> list[dict[str, object]]:
    """The reference: the grid run by the local executor."""
    from steering_core.execute.driver import run_cells
    from steering_core.execute.local import LocalExecutor

    return run_cells(grid, LocalExecutor(), progress=False)


def records_file(tmp: Path, name: str = "records.jsonl") -> Path:
    """A fresh record-file path under ``tmp``."""
    return tmp / name


@pytest.fixture(autouse=True)
def _forget_probe_runner() -> object:
    """The CPRR tests here register a test-only runner (C-98); it never outlives its test."""
    yield None
    from steering_core.cprr.runners import RUNNERS

    RUNNERS.pop("C-98", None)
