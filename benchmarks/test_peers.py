"""Suite 2 -- peers in the same run: steering-vectors and repeng against our hook.

``steering-vectors`` 0.12.2 pins ``transformers<5``, so the comparison runs in the
transformers-4 environment (``$BENCH_TF4_PYTHON``, default ``.venv-tf4/bin/python``), launched
from here as a subprocess (``benchmarks/peers/run_peers.py``). That one process also measures
plain generate and our hook, so every ratio is within one environment. This process only
prepares the inputs: token ids of the fixed prompt (so the transformers-4 side loads no
tokenizer) and an extracted ``terse`` vector for the steered layer.

Knobs: ``BENCH_PEER_MODELS`` (default ``smollm2``; add ``embedded``), ``BENCH_ROUNDS_PEERS``
(default 10), ``BENCH_TOKENS`` (default 48).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from benchmarks.common import REPO_ROOT, env_int, env_strs, write_fragment

TF4_ENV = "BENCH_TF4_PYTHON"
PEER_LAYERS = {"smollm2": 15, "embedded": 12}
ALPHA = 0.5


def tf4_python() -> Path:
    """The transformers-4 interpreter the peers run in."""
    env = os.environ.get(TF4_ENV)
    return Path(env) if env else REPO_ROOT / ".venv-tf4" / "bin" / "python"


@pytest.mark.parametrize("name", env_strs("BENCH_PEER_MODELS", ["smollm2"]))
def test_peers(benchmark: Any, name: str) -> None:
    from steering_core.extract import extract
    from steering_core.models import load_model
    from steering_core.prompts import encode, pad_token_id

    python = tf4_python()
    if not python.exists():
        write_fragment(f"peers-{name}", {"model": name, "skipped": f"no transformers-4 interpreter at {python}"})
        pytest.skip(f"no transformers-4 interpreter at {python} (set {TF4_ENV} or create .venv-tf4)")
    loaded = load_model(None if name == "embedded" else name)
    layer = PEER_LAYERS.get(name, loaded.num_layers // 2)
    vector = extract(loaded, style="terse", layers=[layer])[layer]
    batch = encode(loaded.tokenizer, ["Explain what a mutex is."])
    spec = {
        "model_dir": loaded.source,
        "input_ids": batch.input_ids.tolist(),
        "attention_mask": batch.attention_mask.tolist(),
        "pad_token_id": pad_token_id(loaded.tokenizer),
        "layer": layer,
        "alpha": ALPHA,
        "vector": vector.tolist(),
        "tokens": env_int("BENCH_TOKENS", 48),
        "rounds": env_int("BENCH_ROUNDS_PEERS", 10),
    }
    del loaded
    with tempfile.TemporaryDirectory() as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        command = [str(python), str(REPO_ROOT / "benchmarks" / "peers" / "run_peers.py"), str(spec_path), str(out_path)]

        def launch() -> subprocess.CompletedProcess[str]:
            return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, check=False)

        proc = benchmark.pedantic(launch, rounds=1, iterations=1)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            pytest.fail(f"peer runner exited with {proc.returncode}")
        result = json.loads(out_path.read_text(encoding="utf-8"))
    result["model"] = name
    write_fragment(f"peers-{name}", result)
    benchmark.extra_info.update({f"{k}/unsteered": round(v["median"], 4) for k, v in result["ratios"].items()})
    parts = [f"{k} {v['median']:.4f} (IQR {v['q1']:.4f}-{v['q3']:.4f})" for k, v in result["ratios"].items()]
    print(f"\npeers on {name}: ratio to unsteered: " + "; ".join(parts))
    print(f"unavailable: {result['unavailable']}; same tokens as ours: {result['same_tokens_as_ours_hook']}")
