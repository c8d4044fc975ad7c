"""Fixtures for the vLLM integration tests (they run in the vLLM environment: ``make test-vllm``).

Outside that environment (no ``vllm`` module) every test that needs an engine is skipped; the
pure tests of :mod:`steering_core.vllm.config` run everywhere.

References are computed in the test process with the reference core on the Hugging Face model
loaded from the same folder (fp32, greedy, one prompt at a time, no padding):
:func:`steering_core.steer.steer_rows` around :func:`steering_core.generate.generate_tokens`;
never through the vLLM code under test.

Measured figures (token agreement, cache hits) are written to ``out/vllm/*.json`` for the record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from steering_core.generate import generate_tokens
from steering_core.models import LoadedModel
from steering_core.plan import Term
from steering_core.steer import steer_rows
from steering_core.vector import SteeringVector

OUT = Path(os.environ.get("STEERING_VLLM_OUT", "out/vllm"))
# (layer, alpha scale) per embedded model: the layers the issue measured (SmolLM2 L15, Qwen2.5 L12).
LAYERS = {"smollm2": 15, "embedded": 12}

PlanSpec = Sequence[tuple[SteeringVector, float, int, str]] | None


def need_vllm() -> None:
    """Skip without vLLM, except where ``STEERING_REQUIRE_VLLM=1`` (make test-vllm, CI): fail there."""
    if os.environ.get("STEERING_REQUIRE_VLLM") == "1":
        import vllm  # noqa: F401 - an ImportError here is a failure, not a skip

        return
    pytest.importorskip("vllm", reason="needs the vLLM environment (make vllm)")


def record(name: str, data: dict[str, Any]) -> None:
    """Write a measured figure to ``out/vllm/<name>.json`` (creating the folder)."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")


def reference(lm: LoadedModel, prompt: str, plan: PlanSpec, max_tokens: int) -> list[int]:
    """The reference core's greedy tokens for one prompt under ``plan`` (terms add up in order)."""
    terms = None if not plan else [Term(vector=v, alpha=a, layers=layer, positions=pos) for v, a, layer, pos in plan]  # type: ignore[arg-type]
    with steer_rows(lm.model, [terms]):
        return generate_tokens(lm, [prompt], max_tokens)[0]


def residual_norm(lm: LoadedModel, layer: int) -> float:
    """Mean norm of the residual stream after ``layer`` over one chat prompt (to scale test vectors)."""
    from steering_core.prompts import encode

    batch = encode(lm.tokenizer, ["Explain what a mutex is."])
    with torch.no_grad():
        out = lm.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_hidden_states=True)
    return float(out.hidden_states[layer + 1][0].norm(dim=-1).mean())


def random_vector(lm: LoadedModel, layer: int, norm: float, seed: int) -> SteeringVector:
    """A random direction of the given norm at one layer (recorded for ``lm``'s model)."""
    gen = torch.Generator().manual_seed(seed)
    direction = torch.randn(lm.hidden_size, generator=gen)
    direction = direction / direction.norm() * norm
    return SteeringVector(
        directions={layer: direction}, hidden_size=lm.hidden_size, num_layers=lm.num_layers, model_name=lm.name
    )


def start_engine(lm: LoadedModel, **kwargs: Any) -> Any:
    """A :class:`SteeredLLM` with chunked prefill forced (32-token budget) unless overridden."""
    from steering_core.vllm.engine import SteeredLLM

    settings: dict[str, Any] = {"max_num_batched_tokens": 32, "max_model_len": 512, "max_num_seqs": 8}
    settings.update(kwargs)
    return SteeredLLM(lm, **settings)


@pytest.fixture(scope="module")
def smol() -> LoadedModel:
    need_vllm()
    from steering_core.models import load_model

    return load_model("smollm2")


@pytest.fixture(scope="module")
def smol_engine(smol: LoadedModel) -> Iterator[Any]:
    engine = start_engine(smol)
    try:
        yield engine
    finally:
        engine.close()


PROMPTS = (
    "Explain what a mutex is.",
    "What causes the seasons on Earth?",
    "Name three colours of the rainbow.",
    "Write one sentence about tea.",
    "What is a prime number?",
)


def mixed_batch_agreement(lm: LoadedModel, engine: Any, model_key: str, max_tokens: int) -> dict[str, Any]:
    """One vLLM batch mixing plain rows with single-, multi-term and position-restricted steering.

    Returns per-row tokens of vLLM and of the reference, and the agreement figures.
    """
    from steering_core.vllm.config import SteerTerm

    layer = LAYERS[model_key]
    scale = residual_norm(lm, layer)
    v = random_vector(lm, layer, 0.6 * scale, seed=1)
    w = random_vector(lm, layer, 0.6 * scale, seed=2)
    engine.register("v", v)
    engine.register("w", w)
    rows: list[tuple[str, PlanSpec]] = [
        (PROMPTS[0], None),
        (PROMPTS[1], [(v, 1.0, layer, "all")]),
        (PROMPTS[2], [(v, 1.0, layer, "prompt"), (w, 1.0, layer, "generated")]),
        (PROMPTS[3], None),
        (PROMPTS[4], [(w, -1.0, layer, "generated")]),
        (PROMPTS[1], [(v, 0.5, layer, "all"), (w, 0.5, layer, "all")]),
    ]
    names = {id(v): "v", id(w): "w"}
    plans = [None if p is None else [SteerTerm(names[id(x)], a, lay, pos) for x, a, lay, pos in p] for _, p in rows]
    got = engine.generate([prompt for prompt, _ in rows], plans, max_tokens)
    ref = [reference(lm, prompt, plan, max_tokens) for prompt, plan in rows]
    plain_of: dict[str, list[int]] = {prompt: r for (prompt, plan), r in zip(rows, ref, strict=True) if plan is None}
    for prompt, _ in rows:
        if prompt not in plain_of:
            plain_of[prompt] = reference(lm, prompt, None, max_tokens)
    plain = [plain_of[prompt] for prompt, _ in rows]
    per_row = []
    for (prompt, plan), g, r, p in zip(rows, got, ref, plain, strict=True):
        same = sum(a == b for a, b in zip(g, r, strict=False))
        per_row.append(
            {
                "prompt": prompt,
                "steered": plan is not None,
                "terms": [] if plan is None else [[names[id(x)], a, lay, pos] for x, a, lay, pos in plan],
                "equal": g == r,
                "agreeing_tokens": same,
                "tokens": len(r),
                "steering_changed_output": r != p,
            }
        )
    return {
        "model": lm.name,
        "layer": layer,
        "vector_norm": 0.6 * scale,
        "max_tokens": max_tokens,
        "max_num_batched_tokens": 32,
        "rows": per_row,
        "rows_equal": sum(r["equal"] for r in per_row),
        "rows_total": len(per_row),
        "tokens_equal": sum(r["agreeing_tokens"] for r in per_row),
        "tokens_total": sum(r["tokens"] for r in per_row),
        "got": got,
        "reference": ref,
    }


@pytest.fixture(scope="session")
def certified_smol(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a vector certified here for SmolLM2 (terse at its test layer) and a tampered copy."""
    need_vllm()
    from steering_core.certify import Protocol, certify_vector, write_certified
    from steering_core.extract import extract
    from steering_core.models import load_model

    lm = load_model("smollm2")
    folder: Path = tmp_path_factory.mktemp("vllm-vectors")
    name = f"terse-L{LAYERS['smollm2']}"
    protocol = Protocol(calibration_prompts=2, behaviour_prompts=2, max_new_tokens=12, alphas=(0.05, 0.5, 8.0))
    certified = certify_vector(lm, extract(lm, style="terse", layers=[LAYERS["smollm2"]]), protocol=protocol)
    write_certified(folder / f"{name}.safetensors", certified)
    broken = bytearray((folder / f"{name}.safetensors").read_bytes())
    broken[-5] ^= 0x01
    (folder / "tampered.safetensors").write_bytes(bytes(broken))
    return folder
