"""Peer runner: the same steered greedy generation with ours and with peer libraries, one process.

Launched by ``benchmarks/test_peers.py`` with the *transformers 4* interpreter (``.venv-tf4``),
because ``steering-vectors`` 0.12.2 pins ``transformers<5``. Everything that is compared runs
here, interleaved in one loop, so every ratio is within one environment:

* ``unsteered``: plain ``model.generate``;
* ``ours_hook`` / ``ours_folded``: :func:`steering_core.steer.steer` (``mode=`` when available);
* ``bare_hook``: a plain forward hook adding the same delta (the floor of hook-based steering);
* ``steering_vectors``: ``steering_vectors.SteeringVector(...).apply(model, multiplier=alpha)``;
* ``repeng``: ``repeng.ControlModel`` wrapping the layer, ``set_raw_control``, generate, ``unwrap``.

Input (JSON, written by the parent): ``model_dir`` (a safetensors folder), ``input_ids`` and
``attention_mask`` (token ids from the parent, so no tokenizer is loaded here), ``pad_token_id``,
``layer``, ``alpha``, ``vector`` (floats), ``tokens``, ``rounds``. Output (JSON): the
:func:`benchmarks.common.interleaved` result plus ``unavailable`` (mode -> reason) and
``same_tokens_as_ours_hook`` (mode -> bool: did it generate the very same tokens).

Usage: ``python benchmarks/peers/run_peers.py INPUT.json OUTPUT.json``
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch

from benchmarks.common import bare_hook, environment, greedy, interleaved, steered


def _load(model_dir: str) -> Any:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
    return model.eval()


def build_runs(spec: dict[str, Any], model: Any) -> tuple[dict[str, Callable[[], Any]], dict[str, str]]:
    """The callables to interleave, and the modes that could not be set up (with why)."""
    from steering_core.layers import locate

    ids = torch.tensor(spec["input_ids"], dtype=torch.long)
    mask = torch.tensor(spec["attention_mask"], dtype=torch.long)
    layer, alpha, tokens, pad = int(spec["layer"]), float(spec["alpha"]), int(spec["tokens"]), int(spec["pad_token_id"])
    vector = torch.tensor(spec["vector"], dtype=torch.float32)
    delta = alpha * vector
    _, blocks = locate(model)
    unavailable: dict[str, str] = {}

    def body() -> Any:
        return greedy(model, ids, mask, tokens, pad)

    def under(factory: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with factory():
                return body()

        return run

    def bare() -> Any:
        handle = bare_hook(blocks, layer, delta)
        try:
            return body()
        finally:
            handle.remove()

    runs: dict[str, Callable[[], Any]] = {
        "unsteered": under(nullcontext),
        "ours_hook": under(lambda: steered(model, vector, alpha, layer, "hook")),
    }
    try:
        with steered(model, vector, alpha, layer, "folded"):
            pass
        runs["ours_folded"] = under(lambda: steered(model, vector, alpha, layer, "folded"))
    except Exception as exc:
        unavailable["ours_folded"] = f"{type(exc).__name__}: {exc}"
    runs["bare_hook"] = bare
    try:
        import steering_vectors

        sv = steering_vectors.SteeringVector({layer: vector}, "decoder_block")
        runs["steering_vectors"] = under(lambda: sv.apply(model, multiplier=alpha))
    except Exception as exc:
        unavailable["steering_vectors"] = f"{type(exc).__name__}: {exc}"
    try:
        import repeng

        def run_repeng() -> Any:
            control = repeng.ControlModel(model, [layer])
            try:
                control.set_raw_control({layer: delta})
                return control.generate(
                    input_ids=ids,
                    attention_mask=mask,
                    max_new_tokens=tokens,
                    min_new_tokens=tokens,
                    do_sample=False,
                    pad_token_id=pad,
                )
            finally:
                control.unwrap()

        runs["repeng"] = run_repeng
    except Exception as exc:
        unavailable["repeng"] = f"{type(exc).__name__}: {exc}"
    return runs, unavailable


def main(argv: list[str]) -> int:
    """Run the interleaved comparison described in the module docstring."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    model = _load(spec["model_dir"])
    runs, unavailable = build_runs(spec, model)
    with torch.no_grad():
        outputs = {}
        for name, fn in runs.items():  # one checked run each: do they all steer the same way?
            try:
                outputs[name] = fn()
            except Exception as exc:
                unavailable[name] = f"{type(exc).__name__}: {exc}"
        for name in unavailable:
            runs.pop(name, None)
        reference = outputs.get("ours_hook")
        same = {
            name: bool(reference is not None and torch.equal(out, reference))
            for name, out in outputs.items()
            if name in runs and name not in ("unsteered", "ours_hook")
        }
        result = interleaved(runs, int(spec["rounds"]), "unsteered", warmup=0)
    result.update(
        {
            "tokens": int(spec["tokens"]),
            "layer": int(spec["layer"]),
            "alpha": float(spec["alpha"]),
            "unavailable": unavailable,
            "same_tokens_as_ours_hook": same,
            "steered_differs_from_unsteered": bool(
                "unsteered" in outputs and reference is not None and not torch.equal(outputs["unsteered"], reference)
            ),
            "environment": environment() | _peer_versions(),
        }
    )
    Path(argv[1]).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


def _peer_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("steering-vectors", "repeng"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
