"""Assemble :class:`~steering_core.report.data.ReportData` for ``steer report``: recorded files first,
then the live model for what they do not provide.

Order of sources for each part (the page's summary names the one used):

* anatomy, basins: always live (forward passes only, seconds);
* sweep: ``--sweep FILE``; else the behaviour report's ``sweeps`` (the one for the style, else the
  first); else a quick live sweep (:mod:`steering_core.report.live`), unless ``quick``;
* lens: the behaviour report's ``lens``; else a quick live lens eval, unless ``quick``;
* board: ``steering_core.cprr.board_rows()`` (or why it is unavailable);
* matrix: ``--matrix-json FILE``; else evaluated in ``--matrix`` mode;
* certificates: each ``--vector FILE`` verified, with the loaded model (fingerprint and ratio too);
* behaviour, bench: the files when present;
* conformance: every ``steer conform`` record in ``--conformance DIR`` (default ``out/conformance``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from steering_core.certify.fingerprint import config_fingerprint, weights_fingerprint
from steering_core.diagnose import residual_norms
from steering_core.errors import InvalidParameterError
from steering_core.extract import extract
from steering_core.layers import check_layer
from steering_core.models import LoadedModel, load_model
from steering_core.prompt_sets import prompt_set
from steering_core.report import live, sources
from steering_core.report.data import ReportData
from steering_core.styles import as_style

DEFAULT_BEHAVIOUR = Path("out/behaviour/behaviour.json")
DEFAULT_BENCH = Path("out/bench/report.json")
DEFAULT_CONFORMANCE = Path("out/conformance")

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class ReportOptions:
    """What ``steer report`` was asked for (paths None: the default file when it exists)."""

    model: str | None = None
    style: str = "terse"
    layer: int = 12
    alpha: float = 0.5
    sweep: Path | None = None
    behaviour: Path | None = None
    bench: Path | None = None
    conformance: Path | None = None
    vectors: list[Path] = field(default_factory=list)
    quick: bool = False
    matrix: str = "fast"
    matrix_json: Path | None = None
    sweep_layers: Sequence[int] | None = None
    sweep_alphas: Sequence[float] = live.SWEEP_ALPHAS
    sweep_prompts: int = live.SWEEP_PROMPTS
    max_new_tokens: int = live.SWEEP_TOKENS
    lens_tokens: int = live.LENS_TOKENS
    prompt_set: str = "neutral-questions-v1"


def _pick_sweep(sweeps: Sequence[dict[str, Any]], style: str) -> dict[str, Any] | None:
    for sweep in sweeps:
        if sweep.get("style") == style:
            return sweep
    return sweeps[0] if sweeps else None


def recorded_parts(options: ReportOptions, data: ReportData) -> None:
    """Fill ``data`` from the files named in ``options`` (explicit paths must exist; defaults may not)."""
    behaviour_path = options.behaviour or DEFAULT_BEHAVIOUR
    raw = (
        sources.read_json(options.behaviour, "behaviour")
        if options.behaviour is not None
        else sources.read_optional_json(DEFAULT_BEHAVIOUR, "behaviour")
    )
    if raw is not None:
        data.behaviour = sources.behaviour_parts(raw)
        data.set_note("behaviour", f"behaviour report {behaviour_path}")
        lens = next((x for x in data.behaviour["lens_by_style"] if x.get("style") == options.style), None)
        if lens is None and (data.behaviour["lens"] or {}).get("style") in (None, options.style):
            lens = data.behaviour["lens"]
        if lens is not None:
            data.lens = lens
            data.set_note("lens", f"recorded: {behaviour_path} (lens, style {lens.get('style')})")
        picked = _pick_sweep(data.behaviour["sweeps"], options.style)
        if picked is not None:
            data.sweep = picked
            data.set_note("sweep", f"recorded: {behaviour_path} (sweeps)")
    if options.sweep is not None:
        data.sweep = sources.read_json(options.sweep, "sweep")
        data.set_note("sweep", f"recorded: {options.sweep}")
    bench_path = options.bench or DEFAULT_BENCH
    bench = (
        sources.read_json(options.bench, "bench")
        if options.bench is not None
        else sources.read_optional_json(DEFAULT_BENCH, "bench")
    )
    if bench is not None:
        data.bench = bench
        data.set_note("bench", f"benchmark report {bench_path}")
    conformance_dir = options.conformance or DEFAULT_CONFORMANCE
    runs = sources.conformance_runs(conformance_dir, required=options.conformance is not None)
    if runs:
        data.conformance = {"runs": runs}
        data.set_note("conformance", f"steer conform records in {conformance_dir}")
    if options.matrix_json is not None:
        data.matrix = sources.check_matrix(sources.read_json(options.matrix_json, "matrix-json"))
        data.set_note("matrix", f"recorded: {options.matrix_json}")


def gather(options: ReportOptions, say: Say = _quiet, lm: LoadedModel | None = None) -> ReportData:
    """Everything the report shows: recorded files, then the live model (see the module docstring).

    ``lm``: an already loaded model (default: ``load_model(options.model)``).

    Raises:
        InvalidParameterError (and subclasses): unknown style, layer out of range, a named file
            missing or not JSON, an unknown matrix mode -- all before any generation.
    """
    as_style(options.style)  # unknown style: typed error before loading anything
    if options.matrix not in sources.MATRIX_MODES:
        raise InvalidParameterError("matrix", f"one of {sources.MATRIX_MODES}", repr(options.matrix))
    data = ReportData(
        meta={
            "style": options.style,
            "layer": options.layer,
            "alpha": options.alpha,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "code_version": sources.code_version(),
            "mode": "quick (no generation)" if options.quick else "live",
            "notes": {},
        }
    )
    recorded_parts(options, data)
    for path in options.vectors:
        if not Path(path).is_file():
            raise InvalidParameterError("vector", "a certified .safetensors file", str(path))

    if lm is None:
        lm = load_model(options.model, progress=say)
    n_layers = lm.num_layers
    check_layer(options.layer, n_layers)
    data.meta["model"] = lm.name
    data.meta["fingerprint"] = {
        "weights": weights_fingerprint(lm.model)["sha256"],
        "config": config_fingerprint(lm.model)["sha256"],
    }
    questions = prompt_set(options.prompt_set)
    start = time.monotonic()
    vector = extract(lm, style=options.style)
    norms = residual_norms(lm, questions)
    say(f"extracted {options.style} at {n_layers} layers, residual norms measured ({time.monotonic() - start:.1f} s)")
    data.anatomy = live.anatomy_dict(lm, vector, norms, options.alpha, options.layer, options.prompt_set)
    data.set_note("anatomy", f"live: residual norms over {options.prompt_set} ({len(questions)} prompts), all layers")
    data.basins = live.basins_dict(lm, vector, options.layer, questions)
    data.set_note(
        "basins",
        f"live: each pole's instruction + each of the {len(questions)} questions of {options.prompt_set}, "
        f"layer {options.layer}, last token",
    )
    median = {n.layer: n.median_norm for n in norms}

    if data.sweep is None and not options.quick:
        layers = list(options.sweep_layers or live.sweep_layers(n_layers))
        for layer in layers:
            check_layer(layer, n_layers)
        if options.layer not in layers:
            layers = sorted({*layers, options.layer})
        alphas = sorted({*options.sweep_alphas, options.alpha})
        prompts = questions[: options.sweep_prompts]
        data.sweep = live.quick_sweep(lm, vector, norms, layers, alphas, prompts, options.max_new_tokens, say)
        data.set_note(
            "sweep",
            f"live quick sweep: layers {layers}, alphas {[float(a) for a in alphas]}, first {len(prompts)} prompts of "
            f"{options.prompt_set}, {options.max_new_tokens} new tokens",
        )
    elif data.sweep is None:
        data.set_note("sweep", "not run (--quick); give --sweep FILE (steer sweep --json) for this section")
    if data.sweep is not None:
        sources.add_metric(data.sweep, sources.style_metric(options.style))

    if data.lens is None and not options.quick:
        data.lens, reason = live.quick_lens(
            lm, vector, options.layer, options.alpha, median[options.layer], options.lens_tokens, say
        )
        data.set_note(
            "lens",
            reason
            or f"live quick lens eval: lens-probes-v1, layer {options.layer}, alpha {options.alpha:g}, "
            f"{options.lens_tokens} new tokens",
        )
    elif data.lens is None:
        data.set_note("lens", "not run (--quick); give --behaviour FILE with a lens part for this section")

    data.board = sources.board_section()
    if data.matrix is None:
        say(f"verification matrix ({options.matrix} mode)")
        data.matrix = sources.matrix_section(options.matrix)
        data.set_note("matrix", str(data.matrix.get("note") or data.matrix.get("reason", "")))
    for path in options.vectors:
        say(f"verifying {path}")
        data.certificates.append(sources.certificate_entry(path, model=lm))
    return data
