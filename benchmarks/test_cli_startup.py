"""Suite 7 -- ``steer --help`` start-up time, against ``import torch`` (ratio, interleaved, one run).

``steer --help`` and argument errors must not wait for torch (tests/refactor/test_startup.py
checks that no heavy module is imported). This records the time of ``python -m steering_core.cli
--help`` next to a bare interpreter and ``python -c "import torch"``, interleaved in one run, and
reports the ratios; no absolute time is asserted.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import env_int, summarize, write_fragment

ROOT = Path(__file__).resolve().parents[1]
COMMANDS: dict[str, list[str]] = {
    "python": [sys.executable, "-c", "pass"],
    "steer --help": [sys.executable, "-m", "steering_core.cli", "--help"],
    "steer argument error": [sys.executable, "-m", "steering_core.cli", "generate", "--alpha", "x"],
    "import torch": [sys.executable, "-c", "import torch"],
}


def _once(argv: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, env=env, cwd=ROOT, timeout=300, check=False)
    return time.perf_counter() - start


def startup_times(rounds: int) -> dict[str, Any]:
    """Wall time of each command, ``rounds`` interleaved rounds (after one warm-up round)."""
    for argv in COMMANDS.values():
        _once(argv)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, argv in COMMANDS.items():
            times[name].append(_once(argv))
    median = {name: statistics.median(values) for name, values in times.items()}
    return {
        "rounds": rounds,
        "seconds": {name: summarize(values) for name, values in times.items()},
        "help_over_import_torch": median["steer --help"] / median["import torch"],
        "help_over_python": median["steer --help"] / median["python"],
        "error_over_import_torch": median["steer argument error"] / median["import torch"],
    }


def test_cli_startup(benchmark: Any) -> None:
    result = benchmark.pedantic(startup_times, args=(env_int("BENCH_ROUNDS_STARTUP", 5),), rounds=1, iterations=1)
    write_fragment("cli-startup", result)
    benchmark.extra_info.update({k: round(v, 4) for k, v in result.items() if k.endswith(("torch", "python"))})
    s = result["seconds"]
    print(
        f"\nsteer --help {s['steer --help']['median']:.3f} s, "
        f"argument error {s['steer argument error']['median']:.3f} s, "
        f"bare python {s['python']['median']:.3f} s, import torch {s['import torch']['median']:.3f} s; "
        f"--help / import torch = {result['help_over_import_torch']:.2f}"
    )
