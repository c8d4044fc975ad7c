"""Prove the GGUF export against the real consumer: llama.cpp, built from the llama-cpp-python sdist.

A terse vector at layer 12 is certified on the embedded model, exported as a control-vector
GGUF, loaded by llama.cpp's own GGUF parser, applied through llama.cpp's control-vector API at
the certificate's recommended α, and greedy answers are compared with transformers steering at
the same layer and α:

* the exported tensor is byte-identical to the certified one, as llama.cpp reads it;
* both runtimes shorten the answers by at least 40 %, by similar amounts;
* layer mapping: the change in llama.cpp's next-token logits caused by ``direction.12`` lines up
  with transformers steering the output of 0-based layer 12 better than with layers 11 or 13.

Needs ``llama_cpp`` in the interpreter at ``$LLAMA_CPP_PYTHON`` (default
``/tmp/llama-venv/bin/python``, built by ``scripts/build_llama_cpp.sh``); skipped when it is
missing unless ``STEERING_INTEROP_REQUIRED=1`` (set by ``make interop``), then it fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import torch

from steering_core.certify import Protocol, certify_vector, export_gguf, write_certified
from steering_core.certify.fileformat import tensor_bytes
from steering_core.extract import extract
from steering_core.generate import generate
from steering_core.models import DEFAULT_MODEL, EMBEDDED_MODELS, assemble_gguf, load_model
from steering_core.prompt_sets import prompt_set
from steering_core.prompts import chat_text
from steering_core.steer import steer
from steering_core.text import word_count

pytestmark = [pytest.mark.slow, pytest.mark.interop]

LAYER = 12
N_PROMPTS = 4
MAX_NEW_TOKENS = 96
RUNNER = Path(__file__).with_name("llama_cpp_runner.py")


def _llama_python() -> str:
    python = os.environ.get("LLAMA_CPP_PYTHON", "/tmp/llama-venv/bin/python")
    ok = (
        Path(python).exists()
        and subprocess.run([python, "-c", "import llama_cpp"], capture_output=True, check=False).returncode == 0
    )
    if not ok:
        message = f"llama_cpp is not importable by {python}; build it with scripts/build_llama_cpp.sh"
        if os.environ.get("STEERING_INTEROP_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return python


def _words(texts: list[str]) -> float:
    return sum(word_count(t) for t in texts) / len(texts)


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=0))


@torch.no_grad()
def _last_logits(model: Any, ids: list[int]) -> torch.Tensor:
    return model(input_ids=torch.tensor([ids]), use_cache=False).logits[0, -1].float()


def test_exported_control_vector_steers_llama_cpp_like_transformers(tmp_path: Path) -> None:
    python = _llama_python()
    lm = load_model()
    tok = lm.tokenizer

    # 1. certify (a small stated protocol) and export
    vector = extract(lm, style="terse", layers=[LAYER])
    protocol = Protocol(calibration_prompts=8, behaviour_prompts=2, max_new_tokens=32, alphas=(0.5, 4.0))
    certified = certify_vector(lm, vector, alpha=0.5, protocol=protocol)
    write_certified(tmp_path / "terse-L12.safetensors", certified)
    gguf_path = export_gguf(certified, tmp_path / "terse-L12.gguf")
    alpha = float(certified.body["recommendation"]["alpha"])

    # 2. the same prompts, token for token, for both runtimes
    questions = prompt_set()[:N_PROMPTS]
    prompts = [tok(chat_text(tok, q), add_special_tokens=False)["input_ids"] for q in questions]
    generation_eos = lm.model.generation_config.eos_token_id
    eos = {tok.eos_token_id} | (set(generation_eos) if isinstance(generation_eos, list) else {generation_eos})
    eos.discard(None)

    # 3. transformers: greedy answers and the layer-mapping probe
    hf_base = generate(lm, questions, MAX_NEW_TOKENS)
    with steer(lm.model, vector, alpha, layers=LAYER):
        hf_steered = generate(lm, questions, MAX_NEW_TOKENS)
    plain = _last_logits(lm.model, prompts[0])
    hf_delta: dict[int, torch.Tensor] = {}
    for layer in (LAYER - 1, LAYER, LAYER + 1):
        with steer(lm.model, vector[LAYER], alpha, layers=layer):
            hf_delta[layer] = _last_logits(lm.model, prompts[0]) - plain

    # 4. llama.cpp on the embedded model's own GGUF, with the exported control vector
    request = {
        "model": str(assemble_gguf(EMBEDDED_MODELS[DEFAULT_MODEL])),
        "control_vector": str(gguf_path),
        "strength": alpha,
        "prompts": prompts,
        "max_new_tokens": MAX_NEW_TOKENS,
        "eos": sorted(eos),
        "threads": 2,
    }
    done = subprocess.run(
        [python, str(RUNNER)], input=json.dumps(request), capture_output=True, text=True, check=False, timeout=1800
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    lc_base = [tok.decode(t, skip_special_tokens=True).strip() for t in result["baseline"]]
    lc_steered = [tok.decode(t, skip_special_tokens=True).strip() for t in result["steered"]]
    lc_delta = torch.tensor(result["probe_logits"]["steered"]) - torch.tensor(result["probe_logits"]["baseline"])

    # what llama.cpp's parser saw is exactly the certified tensor
    seen = result["control_vector"]
    assert seen["architecture"] == "controlvector" and seen["tensors"] == [f"direction.{LAYER}"]
    assert seen["tensor_bytes_sha"][str(LAYER)] == hashlib.sha256(tensor_bytes(certified.tensors[LAYER])).hexdigest()

    hf_b, hf_s, lc_b, lc_s = _words(hf_base), _words(hf_steered), _words(lc_base), _words(lc_steered)
    cos = {layer: _cosine(lc_delta, d) for layer, d in hf_delta.items()}
    print(f"\nllama.cpp {result['llama_cpp_version']} via {result['api']}; alpha {alpha}, direction.{LAYER}")
    print(f"mean words over {N_PROMPTS} prompts x {MAX_NEW_TOKENS} tokens:")
    print(f"  transformers: baseline {hf_b:.1f} -> steered {hf_s:.1f} ({(hf_s - hf_b) / hf_b:+.0%})")
    print(f"  llama.cpp   : baseline {lc_b:.1f} -> steered {lc_s:.1f} ({(lc_s - lc_b) / lc_b:+.0%})")
    print(
        "cosine(llama.cpp logit change, transformers logit change when steering layer L): "
        + ", ".join(f"L{k} {v:.3f}" for k, v in cos.items())
    )
    for q, a, b in zip(questions, lc_base, lc_steered, strict=True):
        print(f"  {q}\n    llama.cpp base    ({word_count(a):>3}): {a[:90]!r}")
        print(f"    llama.cpp steered ({word_count(b):>3}): {b[:90]!r}")

    assert hf_s <= 0.6 * hf_b, (hf_b, hf_s)
    assert lc_s <= 0.6 * lc_b, (lc_b, lc_s)
    assert abs((lc_s - lc_b) / lc_b - (hf_s - hf_b) / hf_b) < 0.25, "both runtimes shorten by a similar fraction"
    assert cos[LAYER] > 0.8 and cos[LAYER] > cos[LAYER - 1] and cos[LAYER] > cos[LAYER + 1], cos
