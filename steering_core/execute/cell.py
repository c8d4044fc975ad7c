"""The cell of a grid and the record of its result: the one sweep-cell/result schema of the project.

A :class:`Cell` is one unit of work: *which model* (name or folder, dtype), *which vector*
(its float32 values, the layers it holds and the recipe that made it), *where and how hard*
(steered layers, ``alpha``, positions), *on what* (a chunk of prompts) and *how decoded*
(greedy, ``max_new_tokens``, ``batch_size``, chat template). Everything a worker needs travels
in the cell; nothing is looked up by name on the worker except the model.

Identity. :meth:`Cell.identity` is a JSON value (schema :data:`CELL_SCHEMA`) that holds every
field above, with the vector as its sha256 (over the layer indices and the float32
little-endian bytes, see :meth:`VectorPayload.sha256`) plus its layers, width and recipe.
:meth:`Cell.digest` is the sha256 of the identity's canonical JSON
(:func:`steering_core.canonical.canonical_json`, the encoding certificates and CPRR use).
Two cells with equal digests produce equal answers under greedy decoding on the same model
weights, so a digest is the key that results are stored, resumed and compared under.

Record (schema :data:`RECORD_SCHEMA`), one JSON object per finished cell::

    {"schema", "cell_sha256", "cell": <identity>, "answers": [str, ...], "token_ids": [[int, ...], ...],
     "provenance": {"executor", "worker", "package_version", "host", "pid", "torch_threads",
                    "attempt", "model": {"name", "config_sha256", "weights_sha256"}},
     "timing": {"finished": ISO-8601 UTC, "seconds": float}}

``cell_sha256``, ``answers`` and ``token_ids`` (the greedy new tokens of each answer, cut at
the first EOS) are the result; ``provenance`` and ``timing`` say who produced
it and are ignored when runs are compared (:func:`result_view`).
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from steering_core.canonical import sha256_hex
from steering_core.execute.errors import CellError
from steering_core.vector import SteeringVector

CELL_SCHEMA = "steering-spec/cell/1"
RECORD_SCHEMA = "steering-spec/cell-record/1"
POSITIONS: tuple[str, ...] = ("all", "prompt", "generated")
DTYPES: tuple[str, ...] = ("float32", "bfloat16", "float16")
MAX_NEW_TOKENS_LIMIT = 8192
MAX_PROMPTS_PER_CELL = 4096
_FLOAT32 = 4


@dataclass(frozen=True)
class VectorPayload:
    """A steering vector as plain bytes, so a cell can travel to another process or machine.

    ``data`` holds the float32 little-endian values of ``layers`` (ascending), ``hidden_size``
    each, back to back: ``len(data) == 4 * hidden_size * len(layers)``. ``recipe`` is a JSON
    description of how the vector was made (contrast pairs, read position, aggregator, ...).
    """

    layers: tuple[int, ...]
    hidden_size: int
    data: bytes = field(repr=False)
    style: str | None = None
    recipe: Mapping[str, Any] | None = field(default=None, repr=False, hash=False, compare=True)

    def __post_init__(self) -> None:
        if not self.layers or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in self.layers):
            raise CellError("vector.layers", "a non-empty tuple of non-negative ints", repr(self.layers))
        if tuple(sorted(set(self.layers))) != tuple(self.layers):
            raise CellError("vector.layers", "ascending distinct layer indices", repr(self.layers))
        if isinstance(self.hidden_size, bool) or not isinstance(self.hidden_size, int) or self.hidden_size < 1:
            raise CellError("vector.hidden_size", "a positive int", repr(self.hidden_size))
        expected = _FLOAT32 * self.hidden_size * len(self.layers)
        if not isinstance(self.data, bytes) or len(self.data) != expected:
            got = len(self.data) if isinstance(self.data, bytes) else type(self.data).__name__
            raise CellError("vector.data", f"{expected} bytes (float32 x hidden_size x layers)", got)
        values = struct.unpack(f"<{expected // _FLOAT32}f", self.data)
        if not all(math.isfinite(v) for v in values):
            raise CellError("vector.data", "finite float32 values", "NaN or inf")

    @classmethod
    def from_vector(cls, vector: SteeringVector, recipe: Mapping[str, Any] | None = None) -> VectorPayload:
        """The payload of ``vector`` (converted to float32 on the CPU); ``recipe`` defaults to the vector's own."""
        layers = tuple(sorted(vector.layer_indices))
        chunks = [
            vector[layer].detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes()
            for layer in layers
        ]
        described = dict(recipe) if recipe is not None else (vector.recipe.to_dict() if vector.recipe else None)
        return cls(layers, int(vector.hidden_size), b"".join(chunks), vector.style, described)

    def to_vector(self, model_name: str | None = None) -> SteeringVector:
        """The :class:`SteeringVector` these bytes hold (float32, CPU)."""
        width = self.hidden_size * _FLOAT32
        tensors = {
            layer: torch.frombuffer(bytearray(self.data[i * width : (i + 1) * width]), dtype=torch.float32)
            for i, layer in enumerate(self.layers)
        }
        return SteeringVector(directions=tensors, hidden_size=self.hidden_size, model_name=model_name, style=self.style)

    @property
    def sha256(self) -> str:
        """sha256 over the layer indices (8-byte big-endian each) followed by the float32 bytes."""
        digest = hashlib.sha256()
        digest.update(struct.pack(">Q", self.hidden_size))
        for layer in self.layers:
            digest.update(struct.pack(">Q", layer))
        digest.update(self.data)
        return digest.hexdigest()

    def identity(self) -> dict[str, Any]:
        """The JSON description that enters the cell digest (values by digest, not inline)."""
        return {
            "sha256": self.sha256,
            "layers": list(self.layers),
            "hidden_size": self.hidden_size,
            "style": self.style,
            "recipe": dict(self.recipe) if self.recipe is not None else None,
        }


@dataclass(frozen=True)
class Cell:
    """One unit of work (see the module docstring).

    Pre (checked on construction, :class:`CellError` naming the field otherwise): ``model`` a
    non-empty string; ``prompts`` 1..:data:`MAX_PROMPTS_PER_CELL` strings; ``max_new_tokens``
    in ``[1, MAX_NEW_TOKENS_LIMIT]``; ``batch_size >= 1``; ``alpha`` finite; ``positions`` in
    :data:`POSITIONS`; ``dtype`` in :data:`DTYPES`; without a vector, ``alpha == 0`` and no
    layers; with one, ``layers`` a subset of the vector's layers (empty means all of them).
    Post: ``layers`` is stored ascending, ``alpha`` as a float, ``prompts`` as a tuple.
    """

    model: str
    prompts: tuple[str, ...]
    max_new_tokens: int
    vector: VectorPayload | None = None
    layers: tuple[int, ...] = ()
    alpha: float = 0.0
    positions: str = "all"
    batch_size: int = 8
    chat: bool = True
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise CellError("model", "a non-empty model name or folder", repr(self.model))
        prompts = tuple(self.prompts) if isinstance(self.prompts, (list, tuple)) else None
        if (
            prompts is None
            or not 1 <= len(prompts) <= MAX_PROMPTS_PER_CELL
            or not all(isinstance(p, str) for p in prompts)
        ):
            raise CellError("prompts", f"1..{MAX_PROMPTS_PER_CELL} strings", _short(self.prompts))
        object.__setattr__(self, "prompts", prompts)
        _check_int("max_new_tokens", self.max_new_tokens, 1, MAX_NEW_TOKENS_LIMIT)
        _check_int("batch_size", self.batch_size, 1, MAX_PROMPTS_PER_CELL)
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not math.isfinite(self.alpha):
            raise CellError("alpha", "a finite number", repr(self.alpha))
        object.__setattr__(self, "alpha", float(self.alpha))
        if self.positions not in POSITIONS:
            raise CellError("positions", f"one of {POSITIONS}", repr(self.positions))
        if self.dtype not in DTYPES:
            raise CellError("dtype", f"one of {DTYPES}", repr(self.dtype))
        if not isinstance(self.chat, bool):
            raise CellError("chat", "a bool", repr(self.chat))
        layers = tuple(sorted(set(self.layers)))
        if any(isinstance(x, bool) or not isinstance(x, int) for x in layers):
            raise CellError("layers", "ints", repr(self.layers))
        if self.vector is None:
            if self.alpha != 0.0 or layers:
                raise CellError("vector", "a vector when alpha != 0 or layers are given", "None")
        else:
            if not isinstance(self.vector, VectorPayload):
                raise CellError("vector", "a VectorPayload or None", type(self.vector).__name__)
            layers = layers or self.vector.layers
            missing = [x for x in layers if x not in self.vector.layers]
            if missing:
                raise CellError("layers", f"a subset of the vector's layers {list(self.vector.layers)}", missing)
        object.__setattr__(self, "layers", layers)

    @property
    def steered(self) -> bool:
        """Whether the worker installs a hook (a vector and a non-zero alpha)."""
        return self.vector is not None and self.alpha != 0.0

    def identity(self) -> dict[str, Any]:
        """The JSON value the digest is taken of (schema :data:`CELL_SCHEMA`)."""
        return {
            "schema": CELL_SCHEMA,
            "model": {"name": self.model, "dtype": self.dtype},
            "vector": self.vector.identity() if self.vector is not None else None,
            "steer": {"layers": list(self.layers), "alpha": self.alpha, "positions": self.positions},
            "prompts": list(self.prompts),
            "decoding": {
                "strategy": "greedy",
                "max_new_tokens": self.max_new_tokens,
                "batch_size": self.batch_size,
                "chat": self.chat,
            },
        }

    def digest(self) -> str:
        """sha256 of the canonical JSON of :meth:`identity` (the key results are stored under)."""
        return sha256_hex(self.identity())

    def label(self) -> str:
        """A short human description (for progress lines)."""
        if not self.steered:
            return f"{self.model} unsteered, {len(self.prompts)} prompts"
        style = self.vector.style if self.vector is not None else None
        return (
            f"{self.model} {style or 'vector'} L{list(self.layers)} alpha {self.alpha:g}, {len(self.prompts)} prompts"
        )


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CellError(name, f"an int in [{low}, {high}]", repr(value))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def make_record(
    cell: Cell,
    answers: Sequence[str],
    token_ids: Sequence[Sequence[int]],
    provenance: Mapping[str, Any],
    seconds: float,
    finished: str,
) -> dict[str, Any]:
    """The record of a finished cell (schema :data:`RECORD_SCHEMA`, see the module docstring)."""
    return {
        "schema": RECORD_SCHEMA,
        "cell_sha256": cell.digest(),
        "cell": cell.identity(),
        "answers": list(answers),
        "token_ids": [[int(t) for t in row] for row in token_ids],
        "provenance": dict(provenance),
        "timing": {"finished": finished, "seconds": round(float(seconds), 6)},
    }


def result_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a record that is the *result* (digest, cell, answers, token ids): what two runs must agree on."""
    return {
        "cell_sha256": record["cell_sha256"],
        "cell": record["cell"],
        "answers": record["answers"],
        "token_ids": record["token_ids"],
    }


PROVENANCE_KEYS: tuple[str, ...] = ("executor", "worker", "package_version", "attempt")


def record_problems(record: object) -> list[str]:
    """Every way ``record`` departs from :data:`RECORD_SCHEMA` (empty when it conforms).

    Checked: the keys and their types, that ``cell_sha256`` is the digest of ``cell`` (the
    record was not edited), one answer per prompt, and the provenance keys
    :data:`PROVENANCE_KEYS`.
    """
    if not isinstance(record, dict):
        return [f"a record is a JSON object, got {type(record).__name__}"]
    problems: list[str] = []
    if record.get("schema") != RECORD_SCHEMA:
        problems.append(f"schema must be {RECORD_SCHEMA!r}, got {record.get('schema')!r}")
    cell, answers = record.get("cell"), record.get("answers")
    if not isinstance(cell, dict) or cell.get("schema") != CELL_SCHEMA:
        problems.append(f"cell must be a {CELL_SCHEMA!r} object")
    else:
        if record.get("cell_sha256") != sha256_hex(cell):
            problems.append("cell_sha256 is not the digest of the cell (edited?)")
        prompts = cell.get("prompts")
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            problems.append("answers must be a list of strings")
        elif not isinstance(prompts, list) or len(answers) != len(prompts):
            problems.append("answers must hold one answer per prompt")
        tokens = record.get("token_ids")
        if (
            not isinstance(tokens, list)
            or not isinstance(answers, list)
            or len(tokens) != len(answers)
            or not all(isinstance(row, list) and all(type(t) is int for t in row) for row in tokens)
        ):
            problems.append("token_ids must hold one list of ints per answer")
    provenance = record.get("provenance")
    if not isinstance(provenance, dict) or any(k not in provenance for k in PROVENANCE_KEYS):
        problems.append(f"provenance must be an object with {list(PROVENANCE_KEYS)}")
    timing = record.get("timing")
    if not isinstance(timing, dict) or not isinstance(timing.get("seconds"), (int, float)):
        problems.append("timing must be an object with a number 'seconds'")
    return problems
