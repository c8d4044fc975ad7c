"""Benchmark fixtures: the embedded model (loaded once per session) and the report hook.

Benchmarks reuse the tiny random models of ``tests/conftest.py``. They are never collected by
``make test`` (``testpaths = ["tests"]``); run them with ``make bench``. When the session ends,
every fragment under ``out/bench/`` is assembled into ``report.md`` and ``report.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture(scope="session")
def embedded() -> Any:
    """The embedded default model (Qwen2.5-Coder-0.5B, fp32, CPU); skips when it is not installed."""
    from steering_core.errors import ModelUnavailableError
    from steering_core.models import load_model

    try:
        return load_model()
    except ModelUnavailableError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"embedded model unavailable: {exc}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Assemble the report from whatever fragments exist (also after a partial run)."""
    try:
        from benchmarks.report import build_report

        paths = build_report()
    except Exception as exc:  # pragma: no cover - never hide the benchmark results themselves
        print(f"\nbenchmark report: not written ({type(exc).__name__}: {exc})")
        return
    if paths is not None:
        print(f"\nbenchmark report: {paths[0]} and {paths[1]}")
