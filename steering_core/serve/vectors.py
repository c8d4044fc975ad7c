"""The vectors a server may steer with: every file of a folder, verified against the served model.

Each regular file in the folder is verified with :func:`steering_core.certify.verify_file`
against the served model (container, schema, digest, tensors, model identity and fingerprint,
re-measured perturbation ratio; the Ed25519 signature by ``public_key`` when one is given). A
file that fails is *not served*, and the reason is logged and kept in :attr:`VectorSet.skipped`;
the others are served under their file name without the extension (``terse-L12.safetensors``
is ``terse-L12``).

The *safe range* of a vector is ``[-safe_alpha_max, safe_alpha_max]``, the
``recommendation.safe_alpha_max`` its certificate recorded from measurement.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steering_core.certify.verify import to_steering_vector, verify_file
from steering_core.errors import InvalidParameterError
from steering_core.models import LoadedModel
from steering_core.vector import SteeringVector

log = logging.getLogger("steering_core.serve")


@dataclass(frozen=True)
class ServedVector:
    """A verified vector and what its certificate says about it."""

    name: str
    path: str
    vector: SteeringVector
    layers: tuple[int, ...]
    safe_alpha_max: float
    recommended_alpha: float
    style: str | None
    model_name: str
    fingerprint: dict[str, str]
    signer: str | None
    signature_checked: bool
    digest: str

    def describe(self) -> dict[str, Any]:
        """The JSON of ``GET /v1/vectors`` for this vector."""
        return {
            "name": self.name,
            "object": "steering_vector",
            "layers": list(self.layers),
            "style": self.style,
            "safe_alpha_range": [-self.safe_alpha_max, self.safe_alpha_max],
            "recommended_alpha": self.recommended_alpha,
            "model": self.model_name,
            "model_fingerprint": self.fingerprint,
            "signer": self.signer,
            "signed": self.signer is not None,
            "signature_checked": self.signature_checked,
            "digest": self.digest,
        }


@dataclass
class VectorSet:
    """The served vectors by name, and the files that were refused with their reason."""

    vectors: dict[str, ServedVector] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> ServedVector | None:
        """The served vector called ``name``, or None."""
        return self.vectors.get(name)


def _served(name: str, path: Path, report: Any, checked: bool) -> ServedVector:
    certified = report.certified
    body = certified.body
    vector = to_steering_vector(certified)
    signature = certified.certificate.get("signature")
    fp = body["model"]["fingerprint"]
    return ServedVector(
        name=name,
        path=str(path),
        vector=vector,
        layers=tuple(sorted(vector.layer_indices)),
        safe_alpha_max=float(body["recommendation"]["safe_alpha_max"]),
        recommended_alpha=float(body["recommendation"]["alpha"]),
        style=body["vector"].get("style"),
        model_name=str(body["model"]["name"]),
        fingerprint={"config_sha256": fp["config"]["sha256"], "weights_sha256": fp["weights"]["sha256"]},
        signer=signature.get("public_key") if isinstance(signature, dict) else None,
        signature_checked=checked and isinstance(signature, dict),
        digest=certified.digest,
    )


def load_vector_set(
    folder: str | os.PathLike[str], loaded: LoadedModel, public_key: bytes | None = None, max_files: int = 256
) -> VectorSet:
    """Verify every file of ``folder`` against ``loaded`` and keep those that pass.

    Raises:
        InvalidParameterError: ``folder`` is not a directory, or holds more than ``max_files`` entries.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InvalidParameterError("vectors", "a folder of certified .safetensors files", str(folder))
    entries = sorted(root.iterdir())
    if len(entries) > max_files:
        raise InvalidParameterError("vectors", f"a folder with at most {max_files} files", f"{len(entries)} entries")
    result = VectorSet()
    for path in entries:
        if not path.is_file():
            continue
        name = path.stem if path.suffix == ".safetensors" else path.name
        if path.suffix != ".safetensors":
            reason = "not a .safetensors file"
        elif name in result.vectors:
            reason = f"another file already serves the name {name!r}"
        else:
            report = verify_file(path, model=loaded, public_key=public_key)
            if report.ok and report.certified is not None:
                result.vectors[name] = _served(name, path, report, public_key is not None)
                log.info("serve: vector %s from %s verified", name, path.name)
                continue
            failed = [r for r in report.results if r.status == "fail"]
            reason = "; ".join(f"{r.name}: {r.detail}" for r in failed) or "verification failed"
        result.skipped.append((path.name, reason))
        log.warning("serve: not serving %s: %s", path.name, reason)
    return result
