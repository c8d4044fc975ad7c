"""Evidence records: what ran, on what, with which data, what it measured and the computed verdict.

A record (before sealing, see :mod:`steering_core.cprr.digests`) holds:

* ``date``: UTC, ISO 8601 (``YYYY-MM-DDTHH:MM:SSZ``);
* ``runner``: the conjecture id, the runner function (``module:qualname``) and its fast flag;
* ``protocol_sha256`` and the protocol's ``decision_rule`` (so the verdict can be recomputed
  even after an amendment);
* ``code``: the git commit of the checkout (``git rev-parse HEAD``; None outside git), whether
  code that runs differs from it (``dirty``: uncommitted or untracked changes under
  ``steering_core/`` (its data included, the registry entries ``steering_core/data/cprr`` not),
  ``contracts/`` or ``pyproject.toml``), and the
  installed project version (``importlib.metadata``);
* ``model``: canonical name, architecture, sizes, dtype and the config/weights fingerprints of
  :mod:`steering_core.certify.fingerprint`;
* ``data``: prompt-set id, its sha256 and the number of prompts, plus ``inputs_sha256``, the
  digest of every input the runner actually used (prompt lists and contrast pairs, in order);
* ``measured``: the runner's numbers, floats rounded to :data:`SIGNIFICANT_DIGITS` significant
  digits *before* the verdict is computed (the stored numbers are the ones judged);
* ``verdict``: :func:`steering_core.cprr.rules.verdict` of the decision rule on ``measured``;
* ``runtime_s`` and ``machine`` (platform, CPU count, torch threads, library versions, device).
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from steering_core.cprr import rules
from steering_core.cprr.errors import MeasurementError
from steering_core.resources import checkout_root

SIGNIFICANT_DIGITS = 8
# git pathspecs of the code that runs; the registry's own entries (package data) are not code.
CODE_PATHS: tuple[str, ...] = ("steering_core", "contracts", "pyproject.toml", ":(exclude)steering_core/data/cprr")


def project_version() -> str:
    """The installed version of ``steering-spec`` (``"unknown"`` when it is not installed)."""
    try:
        return metadata.version("steering-spec")
    except metadata.PackageNotFoundError:
        return "unknown"


def _git(*args: str) -> str | None:
    root = checkout_root()
    if root is None:  # installed outside a checkout: no commit to name
        return None
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def code_version() -> dict[str, Any]:
    """``{"commit", "dirty", "project_version"}`` of the running code (see the module docstring)."""
    commit = _git("rev-parse", "HEAD")
    dirty: bool | None = None
    if commit is not None:
        status = _git("status", "--porcelain", "--", *CODE_PATHS)
        dirty = None if status is None else bool(status)
    return {"commit": commit, "dirty": dirty, "project_version": project_version()}


def machine_info(model: Any) -> dict[str, Any]:
    """The machine kind a run happened on (numbers are reproducible on the same kind)."""
    import torch
    import transformers

    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch_threads": int(torch.get_num_threads()),
        "torch": str(torch.__version__),
        "transformers": str(transformers.__version__),
        "device": str(next(model.parameters()).device),
    }


def model_info(model: Any, name: str) -> dict[str, Any]:
    """Name, architecture, sizes, dtype and fingerprints of ``model``."""
    # deferred: imports torch only when this runs, not at module import
    from steering_core.certify.fingerprint import model_identity

    identity = model_identity(model, name)
    fingerprint = identity["fingerprint"]
    return {
        "name": name,
        "architecture": str(identity["architecture"]),
        "num_layers": int(identity["num_layers"]),
        "hidden_size": int(identity["hidden_size"]),
        "dtype": str(identity["dtype"]),
        "config_sha256": fingerprint["config"]["sha256"],
        "weights_sha256": fingerprint["weights"]["sha256"],
        "weights_algorithm": fingerprint["weights"]["algorithm"],
    }


def _round(value: float) -> float:
    if value == 0.0:
        return 0.0
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def _scalar(key: str, value: Any) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if hasattr(value, "item") and callable(value.item):  # torch / numpy scalars
        value = value.item()
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MeasurementError(f"measured value {key!r} is not finite ({value})")
        return _round(value)
    raise MeasurementError(f"measured value {key!r} must be a number, got {type(value).__name__}")


def normalize_measured(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Measured values as the registry stores them: numbers, lists of numbers or ``{name: number}`` maps.

    Floats are rounded to :data:`SIGNIFICANT_DIGITS` significant digits; bools become 0/1.

    Raises:
        MeasurementError: empty, a non-finite number, or a value of another type.
    """
    if not raw:
        raise MeasurementError("the runner measured nothing")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key:
            raise MeasurementError(f"measured keys must be non-empty strings, got {key!r}")
        if isinstance(value, Mapping):
            out[key] = {str(k): _scalar(f"{key}.{k}", v) for k, v in value.items()}
        elif isinstance(value, (list, tuple)):
            out[key] = [_scalar(f"{key}[{i}]", v) for i, v in enumerate(value)]
        else:
            out[key] = _scalar(key, value)
    return out


def build_record(
    *,
    entry_id: str,
    runner_function: str,
    fast: bool,
    protocol: dict[str, Any],
    protocol_sha256: str,
    model: dict[str, Any],
    inputs_sha256: str,
    measured: dict[str, Any],
    runtime_s: float,
    machine: dict[str, Any],
    date: str,
    code: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An unsealed evidence record; the verdict is computed here from ``measured`` and the protocol's rule.

    Raises:
        MeasurementError: a metric of the decision rule is missing or not a finite number.
    """
    rule = protocol["decision_rule"]
    return {
        "date": date,
        "runner": {"id": entry_id, "function": runner_function, "fast": fast},
        "protocol_sha256": protocol_sha256,
        "decision_rule": rule,
        "code": code if code is not None else code_version(),
        "model": model,
        "data": {
            "prompt_set": protocol["prompt_set"]["id"],
            "prompt_set_sha256": protocol["prompt_set"]["sha256"],
            "n_prompts": protocol["prompt_set"]["n_prompts"],
            "inputs_sha256": inputs_sha256,
        },
        "measured": measured,
        "verdict": rules.verdict(rule, measured),
        "runtime_s": round(runtime_s, 3),
        "machine": machine,
    }
