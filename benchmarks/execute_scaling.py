"""Scaling of the execution layer: local (1 worker) against Ray (N workers) on one fixed grid.

Run: ``.venv/bin/python -m benchmarks.execute_scaling [--model smollm2] [--workers 2]``
(needs the ``ray`` extra). Writes ``out/bench/execute_scaling.json`` and ``.md``.

Three measurements, all in one process so the ratios share the machine's state:

1. **Grid**: a fixed sweep grid on a real model (the ``terse`` vector at two layers x the
   alphas plus the baseline, 8 prompts in chunks of 4, greedy): wall time of the local executor
   (one worker, with one torch thread and with every core) and of the Ray executor with
   ``--workers`` workers (one core each), both from a warm start (models loaded, actors up) and,
   for Ray, also the start-up (instance, actors, model loads). Speed-ups are against the faster
   local configuration. The records of both runs are compared cell by cell.
2. **Per-cell overhead**: ``n`` minimal cells (tiny model, one prompt, one new token) on the local
   executor and on one Ray worker; overhead per cell = wall / n - mean in-worker compute time.
3. **Model**: ``T(N) = T_start + ceil(C / (N w)) * (t_cell + o)`` for ``C`` cells on ``N``
   machines of ``w`` workers, with ``t_cell`` the measured one-core cell time and ``o`` the
   measured Ray overhead; the predicted speed-up over the local run is printed for N = 1..16.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _grid(loaded: Any, layers: list[int], alphas: list[float], n_prompts: int, tokens: int, chunk: int) -> list[Any]:
    from steering_core.execute.cell import VectorPayload
    from steering_core.execute.grids import answer_cells
    from steering_core.extract import extract
    from steering_core.prompt_sets import prompt_set

    vector = extract(loaded, style="terse", layers=layers)
    payload = VectorPayload.from_vector(vector)
    prompts = prompt_set()[:n_prompts]
    cells = answer_cells(loaded, prompts, tokens, batch_size=chunk)
    for layer in layers:
        for alpha in alphas:
            cells += answer_cells(loaded, prompts, tokens, payload, (layer,), alpha, "all", chunk)
    return cells


def _timed(executor: Any, cells: list[Any]) -> tuple[float, list[dict[str, Any]]]:
    from steering_core.execute.driver import run_cells

    start = time.perf_counter()
    records = run_cells(cells, executor, progress=False)
    return time.perf_counter() - start, records


def _tiny_folder() -> str:
    from steering_core.tiny import make_tiny_model, make_tokenizer

    folder = Path(tempfile.mkdtemp(prefix="steer-tiny-"))
    make_tiny_model("qwen3").save_pretrained(folder)
    make_tokenizer().save_pretrained(folder)
    return str(folder)


def main(argv: list[str] | None = None) -> int:
    import ray
    import torch

    from steering_core.execute.cell import Cell, result_view
    from steering_core.execute.local import LocalExecutor
    from steering_core.execute.ray_executor import RayExecutor
    from steering_core.models import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--layers", default="10,15")
    parser.add_argument("--alphas", default="2,4,8")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--chunk", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--overhead-cells", type=int, default=60)
    parser.add_argument("--out", default="out/bench")
    args = parser.parse_args(argv)
    layers = [int(x) for x in args.layers.split(",")]
    alphas = [float(x) for x in args.alphas.split(",")]
    result: dict[str, Any] = {"cpu_count": os.cpu_count(), "load_average_start": os.getloadavg()}

    # 1. the grid
    t0 = time.perf_counter()
    loaded = load_model(args.model)
    result["local_model_load_s"] = time.perf_counter() - t0
    cells = _grid(loaded, layers, alphas, args.prompts, args.tokens, args.chunk)
    default_threads = torch.get_num_threads()
    local_runs: dict[str, float] = {}
    local_records: list[dict[str, Any]] = []
    for threads in (1, default_threads):  # one thread (like each Ray worker), then every core
        local_runs[f"local_{threads}_thread_s"], local_records = _timed(LocalExecutor([loaded], threads=threads), cells)
    torch.set_num_threads(default_threads)
    local_s = min(local_runs.values())  # the better local configuration is the baseline
    t0 = time.perf_counter()
    ray.init(
        num_cpus=os.cpu_count(),
        object_store_memory=128 * 1024 * 1024,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="warning",
    )
    ray_init_s = time.perf_counter() - t0
    with RayExecutor(workers=args.workers) as remote:
        warm = [Cell(cells[0].model, ("Hi",), 1, dtype=cells[0].dtype)] + [
            Cell(cells[0].model, (f"Hi {i}",), 1, dtype=cells[0].dtype) for i in range(args.workers - 1)
        ]
        t0 = time.perf_counter()
        _timed(remote, warm)  # actors up, each loads the model (one warm-up cell per worker, roughly)
        ray_start_s = time.perf_counter() - t0
        ray_s, ray_records = _timed(remote, cells)
        workers_used = sorted({r["provenance"]["worker"] for r in ray_records})
    equal = [result_view(a) == result_view(b) for a, b in zip(local_records, ray_records, strict=True)]
    result["grid"] = {
        "model": loaded.name,
        "cells": len(cells),
        "layers": layers,
        "alphas": alphas,
        "prompts": args.prompts,
        "chunk": args.chunk,
        "max_new_tokens": args.tokens,
        "local_1_worker_s": local_s,
        "local_runs": local_runs,
        "ray_workers": args.workers,
        "ray_workers_used": workers_used,
        "ray_s_warm": ray_s,
        "ray_init_s": ray_init_s,
        "ray_actor_start_and_load_s": ray_start_s,
        "speedup_warm": local_s / ray_s,
        "speedup_with_startup": local_s / (ray_s + ray_init_s + ray_start_s),
        "records_equal": sum(equal),
        "records_compared": len(equal),
        "local_cell_compute_s_mean": statistics.mean(r["timing"]["seconds"] for r in local_records),
        "ray_cell_compute_s_mean": statistics.mean(r["timing"]["seconds"] for r in ray_records),
    }

    # 2. per-cell overhead (tiny model, minimal cells)
    folder = _tiny_folder()
    tiny = [Cell(folder, (f"q{i}",), 1) for i in range(args.overhead_cells)]
    local_tiny = LocalExecutor(threads=1)  # one thread, like the Ray worker it is compared with
    _timed(local_tiny, [Cell(folder, ("warm",), 1)])
    local_wall, local_recs = _timed(local_tiny, tiny)
    with RayExecutor(workers=1) as one:
        _timed(one, [Cell(folder, ("warm",), 1)])
        ray_wall, ray_recs = _timed(one, [Cell(folder, (f"r{i}",), 1) for i in range(args.overhead_cells)])
    n = args.overhead_cells
    local_compute = statistics.mean(r["timing"]["seconds"] for r in local_recs)
    ray_compute = statistics.mean(r["timing"]["seconds"] for r in ray_recs)
    result["overhead"] = {
        "cells": n,
        "local_wall_per_cell_s": local_wall / n,
        "local_compute_per_cell_s": local_compute,
        "local_overhead_per_cell_s": local_wall / n - local_compute,
        "ray_wall_per_cell_s": ray_wall / n,
        "ray_compute_per_cell_s": ray_compute,
        "ray_overhead_per_cell_s": ray_wall / n - ray_compute,
        "ray_minus_local_per_cell_s": ray_wall / n - local_wall / n,
    }
    ray.shutdown()
    torch.set_num_threads(default_threads)

    # 3. the model
    grid = result["grid"]
    t_cell = grid["ray_cell_compute_s_mean"]  # one core per worker
    o = max(result["overhead"]["ray_overhead_per_cell_s"], 0.0)
    start = grid["ray_init_s"] + grid["ray_actor_start_and_load_s"]
    per_machine = max(1, (os.cpu_count() or 1))
    prediction = []
    for machines in (1, 2, 4, 8, 16):
        waves = math.ceil(grid["cells"] / (machines * per_machine))
        total = start + waves * (t_cell + o)
        prediction.append(
            {
                "machines": machines,
                "workers": machines * per_machine,
                "predicted_s": total,
                "predicted_speedup_vs_local": local_s / total,
            }
        )
    result["model"] = {
        "formula": "T(N) = T_start + ceil(C / (N*w)) * (t_cell + o)",
        "t_cell_s": t_cell,
        "o_s": o,
        "T_start_s": start,
        "w_per_machine": per_machine,
        "prediction": prediction,
    }
    result["load_average_end"] = os.getloadavg()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "execute_scaling.json").write_text(json.dumps(result, indent=2) + "\n")
    g, ov = result["grid"], result["overhead"]
    total_ray = g["ray_s_warm"] + g["ray_init_s"] + g["ray_actor_start_and_load_s"]

    def ms(seconds: float) -> str:
        return f"{seconds * 1e3:.1f}"

    lines = [
        "# Execution layer: local vs Ray",
        "",
        f"Machine: {os.cpu_count()} CPUs, load average at start {result['load_average_start'][0]:.1f}, "
        f"at end {result['load_average_end'][0]:.1f} (shared machine: times are noisy; ratios are within one run).",
        "",
        f"Grid: {g['model']}, {g['cells']} cells ({len(layers)} layers x {len(alphas)} alphas + baseline, "
        f"{g['prompts']} prompts in chunks of {g['chunk']}, {g['max_new_tokens']} new tokens, greedy).",
        "",
        "| run | wall (s) | speed-up vs local |",
        "|---|---:|---:|",
        *[
            f"| local, 1 worker, {key.split('_')[1]} torch thread(s) | {value:.1f} | {local_s / value:.2f} |"
            for key, value in g["local_runs"].items()
        ],
        f"| Ray, {g['ray_workers']} workers x 1 thread, warm | {g['ray_s_warm']:.1f} | {g['speedup_warm']:.2f} |",
        f"| Ray incl. start-up ({g['ray_init_s']:.1f} s init + {g['ray_actor_start_and_load_s']:.1f} s actors/model) "
        f"| {total_ray:.1f} | {g['speedup_with_startup']:.2f} |",
        "",
        f"Records equal cell by cell: {g['records_equal']}/{g['records_compared']}.",
        "",
        f"Per-cell overhead ({ov['cells']} one-token cells, tiny model): "
        f"local {ms(ov['local_overhead_per_cell_s'])} ms, Ray {ms(ov['ray_overhead_per_cell_s'])} ms "
        f"(wall per cell: local {ms(ov['local_wall_per_cell_s'])} ms, Ray {ms(ov['ray_wall_per_cell_s'])} ms).",
        "",
        f"Model: {result['model']['formula']} with t_cell = {t_cell:.2f} s, o = {o * 1e3:.1f} ms, "
        f"T_start = {start:.1f} s, w = {per_machine}.",
        "",
        "| machines | workers | predicted (s) | speed-up vs local |",
        "|---:|---:|---:|---:|",
        *[
            f"| {p['machines']} | {p['workers']} | {p['predicted_s']:.1f} | {p['predicted_speedup_vs_local']:.2f} |"
            for p in prediction
        ],
    ]
    (out / "execute_scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
