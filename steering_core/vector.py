"""The :class:`SteeringVector` value: per-layer directions plus where they came from.

A steering vector maps decoder-layer indices (0-based, the output of layer ``i``) to 1-D
tensors of the model's hidden width. It carries the model identity, the style and the recipe
that produced it. Arithmetic (``+``, ``-``, unary ``-``, scalar ``*``) acts layer-wise; a layer
missing on one side counts as the zero vector, so ``u + w`` steers the union of layers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import torch

from steering_core.errors import DeviceMismatchError, InvalidParameterError, LayerOutOfRangeError, WidthMismatchError
from steering_core.ops import check_finite_scalar, check_vector, normalize, vector_norm
from steering_core.styles import ContrastPair

if TYPE_CHECKING:
    from steering_core.steer import Mode, Positions, SteeringHandle

ReadPosition = Literal["last", "mean"]
Aggregator = Literal["mean", "pca"]


@dataclass(frozen=True)
class Recipe:
    """How a vector was made: the contrast pairs, read position, aggregator and scaling."""

    pairs: tuple[ContrastPair, ...]
    position: ReadPosition = "last"
    aggregator: Aggregator = "mean"
    normalized: bool = False
    chat_template: bool = True

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return {
            "pairs": [{"positive": p.positive, "negative": p.negative} for p in self.pairs],
            "position": self.position,
            "aggregator": self.aggregator,
            "normalized": self.normalized,
            "chat_template": self.chat_template,
        }


@dataclass
class SteeringVector:
    """Per-layer steering directions for one model.

    Invariants (checked on construction): at least one layer; every key an int in
    ``[0, num_layers)`` (when ``num_layers`` is known); every value a finite 1-D floating
    tensor of width ``hidden_size``; all values share one dtype and device.

    Model identity: ``model_name`` and ``num_layers`` record the model the vector was made for;
    :func:`steering_core.steer.steer` refuses the vector on a model with another name or layer
    count (:mod:`steering_core.identity`) unless the caller passes ``allow_other_model=True``.
    """

    layers: dict[int, torch.Tensor]
    hidden_size: int
    num_layers: int | None = None
    model_name: str | None = None
    style: str | None = None
    recipe: Recipe | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.layers, Mapping) or not self.layers:
            raise InvalidParameterError("layers", "a non-empty mapping layer -> tensor", repr(self.layers))
        if isinstance(self.hidden_size, bool) or not isinstance(self.hidden_size, int) or self.hidden_size <= 0:
            raise InvalidParameterError("hidden_size", "a positive int", repr(self.hidden_size))
        dtypes = set()
        devices = set()
        for layer, tensor in self.layers.items():
            if isinstance(layer, bool) or not isinstance(layer, int) or layer < 0:
                raise LayerOutOfRangeError("layers", "non-negative int layer indices", repr(layer))
            if self.num_layers is not None and layer >= self.num_layers:
                raise LayerOutOfRangeError("layers", f"layer indices in [0, {self.num_layers - 1}]", layer)
            check_vector(tensor, f"layers[{layer}]", width=self.hidden_size)
            dtypes.add(tensor.dtype)
            devices.add(tensor.device)
        if len(devices) > 1:
            raise DeviceMismatchError("layers", "tensors on one device", f"tensors on {sorted(map(str, devices))}")
        if len(dtypes) > 1:
            raise InvalidParameterError("layers", "tensors of one dtype on one device", f"{dtypes} on {devices}")
        self.layers = dict(sorted(self.layers.items()))

    # ----------------------------------------------------------------- access
    @property
    def layer_indices(self) -> list[int]:
        """Sorted layer indices."""
        return list(self.layers)

    @property
    def dtype(self) -> torch.dtype:
        """The dtype shared by every layer's tensor."""
        return next(iter(self.layers.values())).dtype

    @property
    def device(self) -> torch.device:
        """The device shared by every layer's tensor."""
        return next(iter(self.layers.values())).device

    def __getitem__(self, layer: int) -> torch.Tensor:
        if layer not in self.layers:
            raise LayerOutOfRangeError("layer", f"one of this vector's layers {self.layer_indices}", layer)
        return self.layers[layer]

    def __iter__(self) -> Iterator[int]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def norms(self) -> dict[int, float]:
        """Euclidean norm of each layer's direction (float64 arithmetic)."""
        return {layer: vector_norm(t) for layer, t in self.layers.items()}

    def norm(self, layer: int) -> float:
        """Euclidean norm at one layer."""
        return vector_norm(self[layer])

    def select(self, layers: int | Iterable[int]) -> SteeringVector:
        """A vector restricted to ``layers`` (each must be present)."""
        wanted = [layers] if isinstance(layers, int) else list(layers)
        return replace(self, layers={layer: self[layer] for layer in wanted})

    # ------------------------------------------------------------- arithmetic
    def _check_compatible(self, other: SteeringVector) -> None:
        if self.hidden_size != other.hidden_size:
            raise WidthMismatchError("other", f"hidden size {self.hidden_size}", f"hidden size {other.hidden_size}")
        if self.model_name and other.model_name and self.model_name != other.model_name:
            raise InvalidParameterError("other", f"a vector for model {self.model_name!r}", repr(other.model_name))

    def _combine(self, other: SteeringVector, sign: float) -> SteeringVector:
        self._check_compatible(other)
        if other.dtype != self.dtype or other.device != self.device:
            raise InvalidParameterError(
                "other", f"dtype {self.dtype} on {self.device} (convert with .to())", f"{other.dtype} on {other.device}"
            )
        out: dict[int, torch.Tensor] = {k: v.clone() for k, v in self.layers.items()}
        for layer, tensor in other.layers.items():
            out[layer] = out[layer] + sign * tensor if layer in out else sign * tensor
        return SteeringVector(
            out,
            self.hidden_size,
            self.num_layers if self.num_layers is not None else other.num_layers,
            self.model_name or other.model_name,
            None,
            None,
        )

    def __add__(self, other: SteeringVector) -> SteeringVector:
        if not isinstance(other, SteeringVector):
            return NotImplemented
        return self._combine(other, 1.0)

    def __sub__(self, other: SteeringVector) -> SteeringVector:
        if not isinstance(other, SteeringVector):
            return NotImplemented
        return self._combine(other, -1.0)

    def __neg__(self) -> SteeringVector:
        return replace(self, layers={k: -v for k, v in self.layers.items()}, recipe=None)

    def __mul__(self, scalar: float) -> SteeringVector:
        if isinstance(scalar, (SteeringVector, torch.Tensor)):
            return NotImplemented
        factor = check_finite_scalar(scalar, "scalar")
        return replace(self, layers={k: v * factor for k, v in self.layers.items()}, recipe=None)

    __rmul__ = __mul__

    def normalized(self) -> SteeringVector:
        """Each layer's direction scaled to unit norm (see :func:`steering_core.ops.normalize`)."""
        recipe = replace(self.recipe, normalized=True) if self.recipe is not None else None
        return replace(self, layers={k: normalize(v) for k, v in self.layers.items()}, recipe=recipe)

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> SteeringVector:
        """A copy in ``dtype`` and/or on ``device``. Refuses a cast that would overflow."""
        out: dict[int, torch.Tensor] = {}
        for layer, tensor in self.layers.items():
            moved = tensor.to(dtype=dtype or tensor.dtype, device=device or tensor.device)
            check_vector(moved, f"layers[{layer}] after .to({dtype})", width=self.hidden_size)
            out[layer] = moved
        return replace(self, layers=out)

    # -------------------------------------------------------------- steering
    def apply(
        self,
        model: torch.nn.Module,
        alpha: float,
        layers: int | Iterable[int] | None = None,
        positions: Positions = "all",
        mode: Mode = "hook",
        *,
        allow_other_model: bool = False,
    ) -> AbstractContextManager[SteeringHandle]:
        """Context manager that steers ``model`` with this vector (see :func:`steering_core.steer.steer`).

        A vector that records another model (name or layer count) is refused with
        :class:`~steering_core.errors.ModelMismatchError` unless ``allow_other_model`` is True.
        """
        from steering_core.steer import steer

        return steer(
            model, self, alpha, layers=layers, positions=positions, mode=mode, allow_other_model=allow_other_model
        )

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary (no tensors)."""
        return {
            "model": self.model_name,
            "style": self.style,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "layers": self.layer_indices,
            "dtype": str(self.dtype).removeprefix("torch."),
            "norms": {str(k): round(v, 6) for k, v in self.norms().items()},
            "recipe": self.recipe.to_dict() if self.recipe is not None else None,
        }
