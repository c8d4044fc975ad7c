"""Shared helpers for the benchmark suites and the peer runner (importable in both venvs).

Nothing here imports ``transformers`` at module level, so the peer runner can import it from
the transformers-4 environment too. Every suite writes one JSON *fragment* under
:func:`out_dir`; :mod:`benchmarks.report` assembles them into ``report.md`` and ``report.json``.

Timings are always reported as ratios to a baseline measured *in the same run*, interleaved
(every mode once per round, the order rotated: A B C, B C A, C A B, ...), as medians with their
interquartile range (IQR), never as absolute times that would be compared across runs.
"""

from __future__ import annotations

import inspect
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT_ENV = "BENCH_OUT"


def out_dir() -> Path:
    """Where fragments and the report go: ``$BENCH_OUT`` or ``<repo>/out/bench`` (created)."""
    env = os.environ.get(OUT_ENV)
    path = Path(env).expanduser() if env else REPO_ROOT / "out" / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def env_int(name: str, default: int) -> int:
    """Integer knob from the environment (``default`` when unset or empty)."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_ints(name: str, default: Sequence[int]) -> list[int]:
    """Comma-separated integers from the environment."""
    value = os.environ.get(name, "").strip()
    return [int(x) for x in value.split(",") if x.strip()] if value else list(default)


def env_floats(name: str, default: Sequence[float]) -> list[float]:
    """Comma-separated floats from the environment."""
    value = os.environ.get(name, "").strip()
    return [float(x) for x in value.split(",") if x.strip()] if value else list(default)


def env_strs(name: str, default: Sequence[str]) -> list[str]:
    """Comma-separated names from the environment."""
    value = os.environ.get(name, "").strip()
    return [x.strip() for x in value.split(",") if x.strip()] if value else list(default)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median, first and third quartile, IQR and count of ``values``."""
    data = [float(v) for v in values]
    if len(data) >= 2:
        q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
    else:
        q1 = q3 = data[0]
    return {
        "median": statistics.median(data),
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "n": float(len(data)),
    }


def interleaved(
    runs: Mapping[str, Callable[[], Any]],
    rounds: int,
    baseline: str,
    warmup: int = 1,
) -> dict[str, Any]:
    """Time every callable once per round, interleaved (A B C, B C A, ...), and relate to ``baseline``.

    Returns ``{"rounds", "baseline", "seconds": {name: summary}, "ratios": {name: summary}}``
    where each ratio is ``time(name) / time(baseline)`` of the *same* round, so slow drifts of
    the machine cancel out.
    """
    if baseline not in runs:
        raise ValueError(f"baseline {baseline!r} is not one of {list(runs)}")
    for _ in range(warmup):
        for fn in runs.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for index in range(rounds):
        # Rotate the order each round (A B C, B C A, C A B, ...) so no mode always runs first.
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    ratios = {
        name: summarize([t / b for t, b in zip(values, times[baseline], strict=True)])
        for name, values in times.items()
        if name != baseline
    }
    return {
        "rounds": rounds,
        "baseline": baseline,
        "seconds": {name: summarize(values) for name, values in times.items()},
        "ratios": ratios,
    }


def environment() -> dict[str, Any]:
    """Versions and machine facts recorded with every fragment."""
    import torch

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        # 1/5/15-minute load: above the CPU count, other work shared the cores during the run.
        "loadavg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }
    import transformers

    info["transformers"] = transformers.__version__
    return info


def write_fragment(name: str, data: Mapping[str, Any]) -> Path:
    """Write ``out_dir()/<name>.json`` (atomic rename) and return its path."""
    path = out_dir() / f"{name}.json"
    payload = {"suite": name, "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **data}
    payload.setdefault("environment", environment())
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def greedy(model: Any, input_ids: Any, attention_mask: Any, tokens: int, pad_token_id: int) -> Any:
    """One greedy generation of exactly ``tokens`` new tokens (``min_new_tokens`` forces the length)."""
    import torch

    with torch.no_grad():
        return model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            max_new_tokens=tokens,
            min_new_tokens=tokens,
            do_sample=False,
            pad_token_id=pad_token_id,
        )


def steer_supports_mode() -> bool:
    """Whether this checkout's :func:`steering_core.steer.steer` takes ``mode=`` (folded mode)."""
    from steering_core.steer import steer

    return "mode" in inspect.signature(steer).parameters


def steered(model: Any, vector: Any, alpha: float, layers: Any, mode: str) -> Any:
    """The :func:`steer` context for ``mode`` (``hook`` or ``folded``).

    Raises:
        NotImplementedError: ``mode`` is not ``hook`` and this checkout has no ``mode=``.
    """
    from steering_core.steer import steer

    if steer_supports_mode():
        return steer(model, vector, alpha, layers=layers, mode=mode)  # type: ignore[call-arg]
    if mode != "hook":
        raise NotImplementedError(f"steer() in this checkout has no mode={mode!r}")
    return steer(model, vector, alpha, layers=layers)


def bare_hook(model_layers: Any, layer: int, delta: Any) -> Any:
    """Reference point: a plain ``register_forward_hook`` adding ``delta`` (handle returned).

    Works for layers that return a tensor (transformers 5) or a tuple (transformers 4).
    """

    def hook(_m: Any, _a: Any, output: Any) -> Any:
        if isinstance(output, tuple):
            return (output[0] + delta, *output[1:])
        return output + delta

    return model_layers[layer].register_forward_hook(hook)
