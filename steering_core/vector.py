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
from typing import Any, Literal

import torch
from torch import nn

from steering_core.argcheck import check_layers
from steering_core.deprecation import warn_deprecated
from steering_core.errors import DeviceMismatchError, InvalidParameterError, LayerOutOfRangeError, WidthMismatchError
from steering_core.identity import check_same_model
from steering_core.layers import check_layer, hidden_size, locate
from steering_core.ops import check_finite_scalar, check_vector, normalize, vector_norm
from steering_core.steer import Mode, Positions, SteeringHandle, steer
from steering_core.styles import ContrastPair

ReadPosition = Literal["last", "mean"]
Aggregator = Literal["mean", "pca"]


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """How a vector was made: the contrast pairs, read position, aggregator and scaling.

    ``read_at`` is where activations were read (``last`` or ``mean``; see
    :func:`steering_core.extract.extract`). Its serialised key stays ``"position"``
    (:meth:`to_dict`, certificates), so recorded files and digests do not change.
    """

    pairs: tuple[ContrastPair, ...]
    read_at: ReadPosition = "last"
    aggregator: Aggregator = "mean"
    normalized: bool = False
    chat_template: bool = True

    @property
    def position(self) -> ReadPosition:
        """Deprecated name of :attr:`read_at`."""
        warn_deprecated("Recipe.position", "Recipe.read_at")
        return self.read_at

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (the read position under its serialised key ``"position"``)."""
        return {
            "pairs": [{"positive": p.positive, "negative": p.negative} for p in self.pairs],
            "position": self.read_at,
            "aggregator": self.aggregator,
            "normalized": self.normalized,
            "chat_template": self.chat_template,
        }


@dataclass(kw_only=True)
class SteeringVector:
    """Per-layer steering directions for one model.

    ``directions`` maps each layer index to its direction (``layers=`` arguments everywhere else
    are indices; :attr:`layer_indices` lists this vector's). Construct with keywords:
    ``SteeringVector(directions={12: v}, hidden_size=896, ...)``.

    Invariants (checked on construction): at least one layer; every key an int in
    ``[0, num_layers)`` (when ``num_layers`` is known); every value a finite 1-D floating
    tensor of width ``hidden_size``; all values share one dtype and device.

    Model identity: ``model_name`` and ``num_layers`` record the model the vector was made for;
    :func:`steering_core.steer.steer` refuses the vector on a model with another name or layer
    count (:mod:`steering_core.identity`) unless the caller passes ``allow_other_model=True``.
    """

    directions: dict[int, torch.Tensor]
    hidden_size: int
    num_layers: int | None = None
    model_name: str | None = None
    style: str | None = None
    recipe: Recipe | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.directions, Mapping) or not self.directions:
            raise InvalidParameterError("directions", "a non-empty mapping layer -> tensor", repr(self.directions))
        if isinstance(self.hidden_size, bool) or not isinstance(self.hidden_size, int) or self.hidden_size <= 0:
            raise InvalidParameterError("hidden_size", "a positive int", repr(self.hidden_size))
        dtypes = set()
        devices = set()
        for layer, tensor in self.directions.items():
            if isinstance(layer, bool) or not isinstance(layer, int) or layer < 0:
                raise LayerOutOfRangeError("directions", "non-negative int layer indices", repr(layer))
            if self.num_layers is not None and layer >= self.num_layers:
                raise LayerOutOfRangeError("directions", f"layer indices in [0, {self.num_layers - 1}]", layer)
            check_vector(tensor, f"directions[{layer}]", width=self.hidden_size)
            dtypes.add(tensor.dtype)
            devices.add(tensor.device)
        if len(devices) > 1:
            raise DeviceMismatchError("directions", "tensors on one device", f"tensors on {sorted(map(str, devices))}")
        if len(dtypes) > 1:
            raise InvalidParameterError("directions", "tensors of one dtype on one device", f"{dtypes} on {devices}")
        self.directions = dict(sorted(self.directions.items()))

    # ----------------------------------------------------------------- access
    @property
    def layer_indices(self) -> list[int]:
        """Sorted layer indices."""
        return list(self.directions)

    @property
    def layers(self) -> dict[int, torch.Tensor]:
        """Deprecated name of :attr:`directions` (the dict layer -> direction)."""
        warn_deprecated("SteeringVector.layers", "SteeringVector.directions (or .layer_indices for the indices)")
        return self.directions

    @property
    def dtype(self) -> torch.dtype:
        """The dtype shared by every layer's tensor."""
        return next(iter(self.directions.values())).dtype

    @property
    def device(self) -> torch.device:
        """The device shared by every layer's tensor."""
        return next(iter(self.directions.values())).device

    def __getitem__(self, layer: int) -> torch.Tensor:
        if layer not in self.directions:
            raise LayerOutOfRangeError("layer", f"one of this vector's layers {self.layer_indices}", layer)
        return self.directions[layer]

    def __iter__(self) -> Iterator[int]:
        return iter(self.directions)

    def __len__(self) -> int:
        return len(self.directions)

    def norms(self) -> dict[int, float]:
        """Euclidean norm of each layer's direction (float64 arithmetic)."""
        return {layer: vector_norm(t) for layer, t in self.directions.items()}

    def norm(self, layer: int) -> float:
        """Euclidean norm at one layer."""
        return vector_norm(self[layer])

    def select(self, layers: int | Iterable[int]) -> SteeringVector:
        """A vector restricted to ``layers`` (each must be present)."""
        wanted = [layers] if isinstance(layers, int) else list(layers)
        return replace(self, directions={layer: self[layer] for layer in wanted})

    def directions_for(
        self, model: nn.Module, layers: int | Iterable[int] | None = None, *, allow_other_model: bool = False
    ) -> dict[int, torch.Tensor]:
        """This vector's direction at each layer to steer in ``model`` (the vector side of
        :func:`steering_core.plan.resolve_directions`, which checks the model side first).

        ``layers`` picks among this vector's layers; None means its only layer.

        Raises:
            WidthMismatchError: the vector's width is not the model's hidden size.
            ModelMismatchError: the vector records another model (name or layer count), unless
                ``allow_other_model`` is True (:func:`steering_core.identity.check_same_model`).
            InvalidParameterError: ``layers`` is None and the vector holds several layers.
            LayerOutOfRangeError, InvalidParameterError, NonFiniteError: a bad layer (out of the
                model's range, or not one of this vector's), or a bad direction.
        """
        n_layers = len(locate(model)[1])
        width = hidden_size(model)
        if self.hidden_size != width:
            raise WidthMismatchError("vector", f"width {width} (the model's hidden size)", f"width {self.hidden_size}")
        if not allow_other_model:
            check_same_model(model, self)
        if layers is None:
            if len(self) != 1:
                raise InvalidParameterError(
                    "layers", f"the layer(s) to steer (this vector holds layers {self.layer_indices})", None
                )
            chosen = self.layer_indices
        else:
            chosen = check_layers(layers, n_layers)
        out = {}
        for layer in chosen:
            check_layer(layer, n_layers, "layers")
            out[layer] = check_vector(self[layer], f"vector[{layer}]", width)
        return out

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
        out: dict[int, torch.Tensor] = {k: v.clone() for k, v in self.directions.items()}
        for layer, tensor in other.directions.items():
            out[layer] = out[layer] + sign * tensor if layer in out else sign * tensor
        return SteeringVector(
            directions=out,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers if self.num_layers is not None else other.num_layers,
            model_name=self.model_name or other.model_name,
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
        return replace(self, directions={k: -v for k, v in self.directions.items()}, recipe=None)

    def __mul__(self, scalar: float) -> SteeringVector:
        if isinstance(scalar, (SteeringVector, torch.Tensor)):
            return NotImplemented
        factor = check_finite_scalar(scalar, "scalar")
        return replace(self, directions={k: v * factor for k, v in self.directions.items()}, recipe=None)

    __rmul__ = __mul__

    def normalized(self) -> SteeringVector:
        """Each layer's direction scaled to unit norm (see :func:`steering_core.ops.normalize`)."""
        recipe = replace(self.recipe, normalized=True) if self.recipe is not None else None
        return replace(self, directions={k: normalize(v) for k, v in self.directions.items()}, recipe=recipe)

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> SteeringVector:
        """A copy in ``dtype`` and/or on ``device``. Refuses a cast that would overflow."""
        out: dict[int, torch.Tensor] = {}
        for layer, tensor in self.directions.items():
            moved = tensor.to(dtype=dtype or tensor.dtype, device=device or tensor.device)
            check_vector(moved, f"directions[{layer}] after .to({dtype})", width=self.hidden_size)
            out[layer] = moved
        return replace(self, directions=out)

    # -------------------------------------------------------------- steering
    def apply(
        self,
        model: Any,
        alpha: float,
        layers: int | Iterable[int] | None = None,
        positions: Positions = "all",
        mode: Mode = "hook",
        *,
        allow_other_model: bool = False,
    ) -> AbstractContextManager[SteeringHandle]:
        """Deprecated spelling of ``steer(lm, vector, alpha, ...)`` (:func:`steering_core.steer.steer`)."""
        warn_deprecated("SteeringVector.apply(model, alpha, ...)", "steer(lm, vector, alpha, ...)")
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
