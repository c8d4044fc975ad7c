"""``verify``: re-check a certified vector file, offline and (optionally) against a model.

Checks, in order (a check whose inputs failed is reported as skipped):

=======================  =================================================================
``container``            size limits, strict canonical safetensors parse (truncation,
                         trailing bytes, re-encoding, any changed header byte)
``metadata``             exactly one metadata key, ``steering_spec.certificate``
``certificate``          canonical JSON (any edit to its bytes that keeps it JSON fails here
                         or at ``digest``)
``schema``               the JSON Schema (:mod:`steering_core.certify.schema`)
``tensors``              layer set equals ``body.vector.layers`` (missing / extra layer),
                         dtype, shape ``(hidden_size,)``, finite
``digest``               sha256 over tensors and body (layout ``steering-spec-digest-v1``)
``norms``                recorded per-layer norms recomputed from the tensors
``signature``            Ed25519 over the digest; ``UNSIGNED`` is reported (and fails only
                         when a public key was supplied); with a key, the signer must match
``consistency``          recorded ratios = ops.perturbation_ratio(α, ||v||, median norm);
                         recommended α measured effective and below the collapse threshold
``model.identity``       (with a model) architecture, hidden size (the vector's width) and
                         layer count equal the certificate's
``model.fingerprint``    (with a model) config and weights fingerprints recomputed and equal
``model.ratio``          (with a model) residual norms re-measured on the stated calibration
                         prompts; the ratio at the recommended α agrees with the recorded one
                         within :data:`RATIO_RTOL` (relative)
=======================  =================================================================

:func:`load_certified` returns a :class:`SteeringVector` only when every check passed, and
otherwise raises the typed error of the first failed check.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from steering_core.certify.canonical import parse_canonical
from steering_core.certify.certificate import CertifiedVector, compute_digest
from steering_core.certify.errors import (
    CertificateError,
    DigestMismatchError,
    FileFormatError,
    MeasurementMismatchError,
    ModelMismatchError,
    NonFiniteTensorError,
    SchemaError,
    SignatureError,
    TensorMismatchError,
)
from steering_core.certify.fileformat import DEFAULT_LIMITS, METADATA_KEY, Limits, RawFile, decode, dtype_from_name
from steering_core.certify.fileformat import read_bytes as read_limited
from steering_core.certify.fingerprint import config_fields, config_fingerprint, weights_fingerprint
from steering_core.certify.schema import validate
from steering_core.certify.signing import read_key, verify_signature
from steering_core.diagnose import residual_norms
from steering_core.errors import InvalidParameterError
from steering_core.layers import hidden_size, num_layers
from steering_core.models import LoadedModel, load_model
from steering_core.ops import perturbation_ratio, vector_norm
from steering_core.prompt_sets import prompt_set, prompts_digest
from steering_core.styles import ContrastPair
from steering_core.vector import Recipe, SteeringVector

RATIO_RTOL = 0.02
"""Relative tolerance between the recorded and the re-measured perturbation ratio (2 %)."""
NORM_RTOL = 1e-12

Status = Literal["pass", "fail", "skip", "warn"]


@dataclass
class CheckResult:
    """One line of a verification report."""

    name: str
    status: Status
    detail: str
    error: CertificateError | None = None


@dataclass
class VerificationReport:
    """Every check's outcome, and the verified contents when the offline checks passed."""

    source: str
    results: list[CheckResult] = field(default_factory=list)
    certified: CertifiedVector | None = None

    @property
    def ok(self) -> bool:
        """True when no check failed (skipped checks, e.g. without a model, are not failures)."""
        return all(r.status != "fail" for r in self.results)

    @property
    def signed(self) -> bool | None:
        """Whether the certificate carries a signature (None when it could not be read)."""
        return None if self.certified is None else self.certified.signed

    def first_error(self) -> CertificateError | None:
        """The typed error of the first failed check, or None."""
        return next((r.error for r in self.results if r.status == "fail" and r.error is not None), None)

    def render(self) -> str:
        """A readable, line-per-check report ending in a one-line verdict."""
        marks = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP", "warn": "WARN"}
        lines = [f"verify {self.source}"]
        for r in self.results:
            lines.append(f"  [{marks[r.status]}] {r.name:<18} {r.detail}")
        if self.certified is not None:
            body = self.certified.body
            rec = body["recommendation"]
            lines.append(
                f"  vector: style {body['vector']['style']!r}, layers {body['vector']['layers']}, "
                f"model {body['model']['name']!r}, recommended alpha {rec['alpha']:g} "
                f"(ratio {', '.join(f'L{k}={v:.3f}' for k, v in rec['perturbation_ratio'].items())}), "
                f"safe alpha up to {rec['safe_alpha_max']:g}"
            )
            lines += [f"  {line}" for line in contract_lines(body)]
        signed = {True: "signed", False: "UNSIGNED", None: "unknown signature state"}[self.signed]
        verdict = "VERIFIED" if self.ok else "FAILED"
        n_fail = sum(r.status == "fail" for r in self.results)
        lines.append(f"result: {verdict} ({signed})" + (f": {n_fail} check(s) failed" if n_fail else ""))
        return "\n".join(lines)


def contract_lines(body: dict[str, Any]) -> list[str]:
    """One line per direction of the body's optional ``contracts`` block (none when it is absent)."""
    block = body.get("contracts")
    if not isinstance(block, dict):
        return []

    def num(value: Any, digits: int = 3) -> str:
        return "n/a" if value is None else f"{value:.{digits}g}"

    lines = []
    for d in block.get("directions", []):
        rel = d["reliability"]
        verdict = ("PASS" + (", specific" if d["specific"] else "")) if d["passed"] else "fail"
        lines.append(
            f"contract {block['style']} {d['direction']}: {d['rule']}: effect {num(d['effect'])} "
            f"(lower bound {num(d['ci_low'])}), perplexity ratio {num(d['perplexity_ratio'])} "
            f"(<= {block['fluency_max_ratio']:g}), wrong way {rel['n_wrong']}/{rel['n']}, "
            f"halves agree {num(rel['split_half_sign_agreement'])}, "
            f"metric AUC {num(d['metric_auc_held_out'])}: {verdict}"
        )
    return lines


class _Runner:
    def __init__(self, report: VerificationReport) -> None:
        self.report = report
        self.failed = False

    def run(self, name: str, fn: Callable[[], str], needs: bool = True) -> bool:
        if not needs:
            self.report.results.append(CheckResult(name, "skip", "skipped: an earlier check failed"))
            return False
        try:
            detail = fn()
        except CertificateError as error:
            self.report.results.append(CheckResult(name, "fail", error.detail, error))
            self.failed = True
            return False
        except (ValueError, TypeError, KeyError, IndexError, OverflowError, RuntimeError) as error:
            # Malformed input must be a failed check, never a crash of the verifier.
            wrapped = CertificateError(name, f"malformed input ({type(error).__name__}: {error})")
            self.report.results.append(CheckResult(name, "fail", wrapped.detail, wrapped))
            self.failed = True
            return False
        self.report.results.append(CheckResult(name, "pass", detail))
        return True

    def note(self, name: str, status: Status, detail: str, error: CertificateError | None = None) -> None:
        self.report.results.append(CheckResult(name, status, detail, error))
        self.failed = self.failed or status == "fail"


def _check_tensors(raw: RawFile, body: dict[str, Any]) -> str:
    vec = body["vector"]
    expected_layers = sorted(vec["layers"])
    got_layers = sorted(raw.tensors)
    missing = sorted(set(expected_layers) - set(got_layers))
    extra = sorted(set(got_layers) - set(expected_layers))
    if missing or extra:
        raise TensorMismatchError(
            "tensors.layers",
            f"certificate lists layers {expected_layers}; file has {got_layers}"
            + (f" (missing {missing})" if missing else "")
            + (f" (extra {extra})" if extra else ""),
        )
    if set(vec["norms"]) != {str(layer) for layer in expected_layers}:
        raise TensorMismatchError("tensors.layers", "recorded norms do not cover exactly the vector's layers")
    dtype = dtype_from_name(vec["dtype"])
    width = int(vec["hidden_size"])
    if width != body["model"]["hidden_size"]:
        raise TensorMismatchError(
            "tensors.shape", f"vector width {width} differs from the model's hidden size {body['model']['hidden_size']}"
        )
    if any(layer >= body["model"]["num_layers"] for layer in got_layers):
        raise TensorMismatchError(
            "tensors.layers", f"layers {got_layers} beyond num_layers {body['model']['num_layers']}"
        )
    for layer, tensor in raw.tensors.items():
        if tensor.dtype != dtype:
            raise TensorMismatchError(
                "tensors.dtype", f"layer.{layer} is {tensor.dtype}, certificate says {vec['dtype']}"
            )
        if tuple(tensor.shape) != (width,):
            raise TensorMismatchError(
                "tensors.shape", f"layer.{layer} has shape {tuple(tensor.shape)}, expected ({width},)"
            )
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            raise NonFiniteTensorError("tensors.finite", f"layer.{layer} has {int((~finite).sum())} NaN/inf entries")
    return f"{len(got_layers)} layer(s) {got_layers}, {vec['dtype']} ({width},), finite"


def _check_norms(raw: RawFile, body: dict[str, Any]) -> str:
    norms = body["vector"]["norms"]
    for layer, tensor in raw.tensors.items():
        recorded = float(norms[str(layer)])
        actual = vector_norm(tensor)
        if not math.isclose(recorded, actual, rel_tol=NORM_RTOL, abs_tol=0.0):
            raise TensorMismatchError("tensors.norms", f"layer.{layer}: norm {actual!r}, recorded {recorded!r}")
    return "recorded per-layer norms recomputed: " + ", ".join(f"L{k} {v:.4f}" for k, v in norms.items())


def _check_consistency(body: dict[str, Any]) -> str:
    rec = body["recommendation"]
    alpha = float(rec["alpha"])
    calib = body["calibration"]["layers"]
    norms = body["vector"]["norms"]
    for key, recorded in rec["perturbation_ratio"].items():
        if key not in calib or key not in norms:
            raise SchemaError("consistency", f"layer {key} lacks calibration statistics or a norm")
        expected = perturbation_ratio(alpha, norms[key], calib[key]["median_norm"])
        if not math.isclose(recorded, expected, rel_tol=1e-9):
            raise SchemaError("consistency", f"layer {key}: recorded ratio {recorded!r} != recomputed {expected!r}")
    if set(rec["perturbation_ratio"]) != set(norms) or set(calib) != set(norms):
        raise SchemaError("consistency", "ratios / calibration do not cover exactly the vector's layers")
    cells = {float(c["alpha"]): c["phase"] for c in body["measurement"]["cells"]}
    if cells.get(alpha) != "effective":
        raise SchemaError(
            "consistency", f"recommended alpha {alpha:g} was measured {cells.get(alpha)!r}, not effective"
        )
    collapse = body["measurement"]["thresholds"]["collapse_min"]
    if collapse is not None and not (alpha < collapse and rec["safe_alpha_max"] < collapse):
        raise SchemaError("consistency", f"recommended/safe alpha not below the collapse threshold {collapse:g}")
    clean_prefix: list[float] = []
    for cell in sorted(body["measurement"]["cells"], key=lambda c: float(c["alpha"])):
        if (collapse is not None and float(cell["alpha"]) >= collapse) or cell["n_degenerate"]:
            break
        clean_prefix.append(float(cell["alpha"]))
    if not clean_prefix or rec["safe_alpha_max"] != max(clean_prefix) or alpha > rec["safe_alpha_max"]:
        raise SchemaError(
            "consistency",
            f"safe_alpha_max {rec['safe_alpha_max']!r} does not follow from the measured cells "
            f"(largest alpha with no degenerate answer at or below it: {max(clean_prefix) if clean_prefix else None})",
        )
    ratio_text = ", ".join(f"L{k} {v:.4f}" for k, v in rec["perturbation_ratio"].items())
    return f"ratio at alpha {alpha:g} recomputed ({ratio_text}); alpha measured effective"


def _resolve_model(model: LoadedModel | str | None) -> LoadedModel | None:
    if model is None or isinstance(model, LoadedModel):
        return model
    if not isinstance(model, str):
        raise InvalidParameterError(
            "model", "a LoadedModel (model and tokenizer, from load_model) or a model name/path", type(model).__name__
        )
    return load_model(model)


def _model_checks(run: _Runner, certified: CertifiedVector, loaded: LoadedModel, rtol: float) -> None:
    body = certified.body
    recorded = body["model"]
    model = loaded.model

    def identity() -> str:
        width, n_layers = hidden_size(model), num_layers(model)
        archs = config_fields(model).get("architectures") or [type(model).__name__]
        if width != recorded["hidden_size"]:
            raise ModelMismatchError(
                "model.width", f"the model's hidden size is {width}; the vector's width is {recorded['hidden_size']}"
            )
        if n_layers != recorded["num_layers"]:
            raise ModelMismatchError(
                "model.identity", f"the model has {n_layers} layers, certificate {recorded['num_layers']}"
            )
        if recorded["architecture"] not in archs:
            raise ModelMismatchError(
                "model.identity", f"architecture {archs} != certificate {recorded['architecture']!r}"
            )
        return f"{recorded['architecture']}, hidden {width}, {n_layers} layers"

    def fingerprint() -> str:
        config = config_fingerprint(model)
        if config["sha256"] != recorded["fingerprint"]["config"]["sha256"]:
            raise ModelMismatchError("model.fingerprint", "config fingerprint differs: a different model configuration")
        samples = int(recorded["fingerprint"]["weights"]["samples_per_tensor"])
        weights = weights_fingerprint(model, samples)
        if weights["sha256"] != recorded["fingerprint"]["weights"]["sha256"]:
            raise ModelMismatchError("model.fingerprint", "weights fingerprint differs: different weights (or dtype)")
        return f"config {config['sha256'][:12]}..., weights {weights['sha256'][:12]}... match"

    def ratio() -> str:
        calib = body["calibration"]
        prompts = prompt_set(calib["prompt_set"])[: calib["n_prompts"]]
        if prompts_digest(prompts) != calib["prompts_sha256"]:
            raise MeasurementMismatchError(
                "model.ratio", f"this installation's prompt set {calib['prompt_set']!r} differs from the recorded one"
            )
        layers = body["vector"]["layers"]
        stats = residual_norms(loaded, prompts, layers, chat=bool(calib["chat_template"]))
        alpha = float(body["recommendation"]["alpha"])
        parts = []
        for s in stats:
            key = str(s.layer)
            remeasured = perturbation_ratio(alpha, body["vector"]["norms"][key], s.median_norm)
            recorded_ratio = float(body["recommendation"]["perturbation_ratio"][key])
            rel = abs(remeasured - recorded_ratio) / recorded_ratio
            if rel > rtol:
                raise MeasurementMismatchError(
                    "model.ratio",
                    f"layer {key}: re-measured ratio {remeasured:.4f} vs recorded {recorded_ratio:.4f} "
                    f"(relative difference {rel:.2%} > {rtol:.0%})",
                )
            parts.append(f"L{key} {remeasured:.4f} vs {recorded_ratio:.4f} (diff {rel:.1e})")
        return f"re-measured ratio at alpha {alpha:g}: " + ", ".join(parts) + f"; tolerance {rtol:.0%} relative"

    ok = run.run("model.identity", identity)
    ok = run.run("model.fingerprint", fingerprint, ok) and ok
    run.run("model.ratio", ratio, ok)


def verify_bytes(
    data: bytes,
    *,
    source: str = "<bytes>",
    model: LoadedModel | str | None = None,
    public_key: bytes | None = None,
    limits: Limits = DEFAULT_LIMITS,
    ratio_rtol: float = RATIO_RTOL,
) -> VerificationReport:
    """Verify certified-file bytes; see the module docstring for the checks."""
    report = VerificationReport(source)
    run = _Runner(report)
    state: dict[str, Any] = {}

    def container() -> str:
        state["raw"] = decode(data, limits)
        n_tensors = len(state["raw"].tensors)
        return f"canonical safetensors, {len(data)} bytes (limit {limits.max_file_bytes}), {n_tensors} tensor(s)"

    def metadata() -> str:
        keys = sorted(state["raw"].metadata)
        if keys != [METADATA_KEY]:
            raise FileFormatError("container.metadata", f"metadata keys {keys}; expected exactly [{METADATA_KEY!r}]")
        return f"one key {METADATA_KEY!r}"

    def certificate() -> str:
        state["cert"] = parse_canonical(state["raw"].metadata[METADATA_KEY])
        return "canonical JSON"

    def schema() -> str:
        validate(state["cert"])
        return f"valid against certificate schema v{state['cert']['schema_version']}"

    def tensors() -> str:
        return _check_tensors(state["raw"], state["cert"]["body"])

    def digest() -> str:
        recorded = state["cert"]["digest"]["hex"]
        actual = compute_digest(state["raw"].tensors, state["cert"]["body"])
        if actual != recorded:
            raise DigestMismatchError("digest", f"sha256 {actual[:16]}... != recorded {recorded[:16]}...")
        return f"sha256 {actual[:16]}... matches"

    ok = run.run("container", container)
    ok = run.run("metadata", metadata, ok) and ok
    ok = run.run("certificate", certificate, ok) and ok
    ok = run.run("schema", schema, ok) and ok
    tensors_ok = run.run("tensors", tensors, ok)
    digest_ok = run.run("digest", digest, ok)
    tensors_ok = run.run("norms", lambda: _check_norms(state["raw"], state["cert"]["body"]), tensors_ok) and tensors_ok
    if ok:
        block = state["cert"]["signature"]
        if block is None:
            if public_key is not None:
                error = SignatureError("signature", "UNSIGNED, but a public key was supplied: a signature is required")
                run.note("signature", "fail", error.detail, error)
            else:
                run.note("signature", "warn", "UNSIGNED: no signature; the author is not authenticated")
        else:
            run.run("signature", lambda: verify_signature(state["cert"]["digest"]["hex"], block, public_key))
        run.run("consistency", lambda: _check_consistency(state["cert"]["body"]))
    else:
        run.note("signature", "skip", "skipped: an earlier check failed")
        run.note("consistency", "skip", "skipped: an earlier check failed")
    if ok and tensors_ok and digest_ok:
        report.certified = CertifiedVector(state["raw"].tensors, state["cert"])
    if model is None:
        run.note("model", "skip", "no model given: fingerprint and re-measured ratio not checked")
    elif report.certified is None or run.failed:
        run.note("model", "skip", "skipped: the file failed offline checks")
    else:
        loaded = _resolve_model(model)
        assert loaded is not None
        _model_checks(run, report.certified, loaded, ratio_rtol)
    return report


def read_public_key(path: str | os.PathLike[str] | None) -> bytes | None:
    """Read a public key file (64 hex characters), or None for no path."""
    if path is None:
        return None
    return read_key(path, "public key")


def verify_file(
    path: str | os.PathLike[str],
    *,
    model: LoadedModel | str | None = None,
    public_key: bytes | None = None,
    limits: Limits = DEFAULT_LIMITS,
    ratio_rtol: float = RATIO_RTOL,
) -> VerificationReport:
    """Verify a certified file on disk (the size limit is checked before reading)."""
    try:
        data = read_limited(path, limits)
    except CertificateError as error:
        report = VerificationReport(str(path))
        report.results.append(CheckResult("container", "fail", error.detail, error))
        return report
    return verify_bytes(
        data, source=str(path), model=model, public_key=public_key, limits=limits, ratio_rtol=ratio_rtol
    )


def to_steering_vector(certified: CertifiedVector) -> SteeringVector:
    """The :class:`SteeringVector` a verified certificate describes (certificate in ``metadata``)."""
    body = certified.body
    recipe_block = body["recipe"]
    recipe = None
    if recipe_block["kind"] == "contrast-pairs":
        recipe = Recipe(
            pairs=tuple(ContrastPair(positive=p["positive"], negative=p["negative"]) for p in recipe_block["pairs"]),
            read_at=recipe_block["position"],
            aggregator=recipe_block["aggregator"],
            normalized=recipe_block["scaling"] == "unit",
            chat_template=recipe_block["chat_template"],
        )
    return SteeringVector(
        directions={layer: t.clone() for layer, t in certified.tensors.items()},
        hidden_size=int(body["vector"]["hidden_size"]),
        num_layers=int(body["model"]["num_layers"]),
        model_name=str(body["model"]["name"]),
        style=body["vector"]["style"],
        recipe=recipe,
        metadata={
            "certificate": certified.certificate,
            "certified": True,
            "signed": certified.signed,
            "digest": certified.digest,
            "recommended_alpha": float(body["recommendation"]["alpha"]),
            "safe_alpha_max": float(body["recommendation"]["safe_alpha_max"]),
        },
    )


def load_certified(
    path: str | os.PathLike[str],
    model: LoadedModel | str | None = None,
    *,
    public_key: bytes | str | os.PathLike[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    ratio_rtol: float = RATIO_RTOL,
) -> SteeringVector:
    """Load a certified vector, only after it verified.

    Args:
        path: the certified ``.safetensors`` file.
        model: a :class:`LoadedModel` or a name for :func:`steering_core.models.load_model`;
            with it, the fingerprint and the re-measured perturbation ratio are checked too.
        public_key: 32 raw bytes or the path of a public key file; with it, a valid signature
            by that key is required.

    Returns:
        The vector; ``vector.metadata["certificate"]`` holds the certificate.

    Raises:
        CertificateError: the typed error of the first failed check (FileFormatError,
            SizeLimitError, SchemaError, TensorMismatchError, NonFiniteTensorError,
            DigestMismatchError, SignatureError, ModelMismatchError, MeasurementMismatchError).
    """
    key = public_key if isinstance(public_key, bytes) or public_key is None else read_public_key(public_key)
    report = verify_file(path, model=_resolve_model(model), public_key=key, limits=limits, ratio_rtol=ratio_rtol)
    error = report.first_error()
    if error is not None:
        raise error
    assert report.certified is not None
    return to_steering_vector(report.certified)
