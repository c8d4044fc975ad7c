"""Fixtures for the CPRR tests: tiny registries built from the committed protocols, synthetic records.

Nothing here writes to ``steering_core/data/cprr``: every registry a test changes lives in ``tmp_path``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from steering_core.cprr import store
from steering_core.cprr.digests import protocol_digest
from steering_core.cprr.evidence import build_record
from steering_core.cprr.lifecycle import Entry, new_entry

TINY_NAME = "tiny-qwen2"
# Per entry: how the embedded-model protocol is scaled down to a 4-layer tiny model.
SEED_ALPHA_TINY = {"ratio": 0.3, "layer": 2, "seed_alpha": 2.0}
RELATIONAL_TINY = {
    "relational": {
        "relations": ["hypernym", "antonym", "meronym"],
        "n_pairs": 12,
        "max_per_target": 3,
        "template": "The word is: {word}",
        "n_permutations": 19,
        "probe_folds": 3,
        "probe_l2": 1.0,
        "batch_size": 16,
    }
}
# Per entry: how the embedded-model protocol is scaled down to a 4-layer tiny model.
TINY: dict[str, dict[str, Any]] = {
    # the seed's conjectures with the seed's meaning
    "C-1": {"layers": [0, 1], "params": {"seed_alpha": SEED_ALPHA_TINY}},
    "C-2": {
        "layers": [0, 1, 2, 3],
        "params": {
            "seed_alpha": SEED_ALPHA_TINY,
            "bands": {"early": [0], "sweet": [1, 2], "formatting": [3], "distortion": [3]},
        },
    },
    "C-3": {"layers": [2, 3], "params": {"seed_alpha": SEED_ALPHA_TINY}},
    "C-4": {"layers": [3], "params": {"seed_alpha": SEED_ALPHA_TINY}},
    "C-5": {"layers": [0, 1, 2, 3]},
    "C-6": {"layers": [1, 2], "params": {"seed_alpha": SEED_ALPHA_TINY, "single": 1, "multi": [1, 2]}},
    "C-7": {"layers": [0, 1, 2, 3], "params": {"sweet": [1, 2], "early": [0], "late": [3]}},
    "C-8": {"layers": [0, 1, 2, 3], "params": {"seed_alpha": SEED_ALPHA_TINY, "sweet": [1, 2], "late": [3]}},
    "C-9": {"layers": [2], "params": {"seed_alpha": SEED_ALPHA_TINY, "layer": 2}},
    "C-10": {"layers": [1, 2], "params": RELATIONAL_TINY},
    "C-11": {"layers": [1, 2], "params": RELATIONAL_TINY},
    "C-12": {"layers": [1, 2], "params": RELATIONAL_TINY},
    "C-13": {"layers": [0, 1], "params": RELATIONAL_TINY},
    "C-14": {"layers": [2], "params": {"layer": 2}},
    # the project's claims that carried seed ids until issue 20
    "H-LR-1": {"layers": [1, 2], "params": {"early": 1, "middle": 2}},
    "H-LR-2": {"layers": [0, 1, 2, 3], "params": {"middle": [1, 2]}},
    "H-LR-3": {"layers": [1, 3], "params": {"middle": 1, "late": 3}},
    "H-LR-4": {"layers": [2]},
    "H-RN-1": {"layers": [0, 1, 2, 3], "params": {"window": [0, 3]}},
    "H-ML-1": {"layers": [1, 2, 3], "params": {"single": 2}},
    "H-LR-5": {"layers": [0, 1, 2, 3]},
    "H-ST-1": {"layers": [0, 1, 2, 3]},
    "H-IP-1": {"layers": [2], "params": {"layer": 2}},
    "H-GEO-1": {"layers": [2]},
    "H-GEO-2": {"layers": [2]},
    "H-GEO-3": {"layers": [2]},
    "H-GEO-4": {"layers": [1, 2, 3]},
    "H-SV-1": {"layers": [2]},
    "H-EX-1": {"layers": [2]},
    "H-PR-1": {"layers": [2]},
}
NOW = "2030-01-01T00:00:00Z"


def tiny_entry(entry_id: str, model_name: str = TINY_NAME) -> Entry:
    """A fresh ``open`` entry with the committed entry's statement and its protocol scaled to the tiny model."""
    source = store.load_entry(entry_id)
    protocol = copy.deepcopy(source["protocol"])
    protocol["model"] = model_name
    scaled = TINY.get(entry_id, {})
    if "layers" in scaled:
        protocol["layers"] = scaled["layers"]
    protocol["params"].update(scaled.get("params", {}))
    protocol["prompt_set"]["n_prompts"] = min(protocol["prompt_set"]["n_prompts"], 3)
    if protocol["max_new_tokens"]:
        protocol["max_new_tokens"] = 8
    return new_entry(
        entry_id,
        source["kind"],
        source["group"],
        source["title"],
        source["statement"],
        source["origin"],
        protocol,
        NOW,
    )


@pytest.fixture
def tiny_registry(tmp_path: Path) -> Callable[..., Path]:
    """``make(ids, model_name=TINY_NAME) -> folder`` with tiny-scaled entries written there."""

    def make(ids: list[str], model_name: str = TINY_NAME) -> Path:
        folder = tmp_path / "registry"
        for entry_id in ids:
            store.write_entry(tiny_entry(entry_id, model_name), folder)
        return folder

    return make


@pytest.fixture(scope="session")
def tiny_context() -> Any:
    """A :class:`RunContext` around the tiny Qwen2 model and the char-level chat tokenizer."""
    from steering_core.cprr.runners import RunContext
    from steering_core.models import LoadedModel
    from tests.conftest import make_tiny_model, make_tokenizer

    return RunContext(
        LoadedModel(model=make_tiny_model("qwen2"), tokenizer=make_tokenizer(), name=TINY_NAME, source="memory")
    )


FAKE_MODEL = {
    "name": "qwen2.5-coder-0.5b-instruct",
    "architecture": "Qwen2ForCausalLM",
    "num_layers": 24,
    "hidden_size": 896,
    "dtype": "float32",
    "config_sha256": "0" * 64,
    "weights_sha256": "1" * 64,
    "weights_algorithm": "strided-sample-v1",
}
FAKE_MACHINE = {
    "platform": "test",
    "machine": "x86_64",
    "python": "3.11",
    "cpu_count": 2,
    "torch_threads": 2,
    "torch": "2.x",
    "transformers": "5.x",
    "device": "cpu",
}


def fake_record(entry: Entry, measured: dict[str, Any], model_name: str | None = None) -> dict[str, Any]:
    """An unsealed record for ``entry`` with ``measured`` values (verdict computed by build_record)."""
    model = dict(FAKE_MODEL, name=model_name or FAKE_MODEL["name"])
    return build_record(
        entry_id=entry["id"],
        runner_function="tests:fake",
        fast=True,
        protocol=entry["protocol"],
        protocol_sha256=protocol_digest(entry["protocol"]),
        model=model,
        inputs_sha256="2" * 64,
        measured=measured,
        runtime_s=0.5,
        machine=FAKE_MACHINE,
        date=NOW,
        code={"commit": "3" * 40, "dirty": False, "project_version": "0.1.0"},
    )


@pytest.fixture
def sv1() -> Entry:
    """A fresh H-SV-1 entry (embedded protocol, as committed), status open, no evidence."""
    source = store.load_entry("H-SV-1")
    return new_entry(
        "H-SV-1", "hypothesis", source["group"], source["title"], source["statement"], source["origin"],
        copy.deepcopy(source["protocol"]), NOW,
    )  # fmt: skip


@pytest.fixture(autouse=True)
def fixture_wordnet(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small synthetic WordNet (wndb format) as ``$STEERING_WORDNET_DIR`` for runner tests on tiny models.

    Tests of the reader against Debian's real files (tests/cprr/test_wordnet.py) point the reader at
    the real folder explicitly.
    """
    from tests.cprr.wordnet_fixture import write_fixture_wordnet

    folder = tmp_path_factory.getbasetemp() / "wordnet-fixture"
    if not (folder / "data.noun").exists():
        write_fixture_wordnet(folder)
    monkeypatch.setenv("STEERING_WORDNET_DIR", str(folder))
    return folder
