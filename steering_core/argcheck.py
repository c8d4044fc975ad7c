"""Argument checks shared by the steering entry points (typed errors naming the parameter).

Each check refuses bad input with an :class:`~steering_core.errors.InvalidParameterError`
subclass that names the parameter and its accepted range, in time and memory bounded by the
model's size (an endless iterator is never materialised), and coerces nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

import torch

from steering_core.errors import InvalidParameterError, LayerOutOfRangeError
from steering_core.layers import check_layer


def check_layers(layers: int | Iterable[int], n_layers: int, name: str = "layers") -> list[int]:
    """``layers`` as a non-empty list of distinct indices in ``[0, n_layers)`` (nothing coerced).

    Raises:
        LayerOutOfRangeError: not an int or an iterable of ints, or an index out of range.
        InvalidParameterError: an empty iterable, a repeated index, or more indices than layers.
    """
    accepted = f"an int or a non-empty sequence of distinct ints in [0, {n_layers - 1}]"
    if isinstance(layers, int) and not isinstance(layers, bool):
        return [check_layer(layers, n_layers, name)]
    if isinstance(layers, (str, bytes, bool, torch.Tensor)) or not isinstance(layers, Iterable):
        raise LayerOutOfRangeError(name, accepted, f"{type(layers).__name__} {layers!r}")
    chosen = list(islice(layers, n_layers + 1))  # bounded even for an endless iterator
    if not chosen:
        raise InvalidParameterError(name, accepted, "an empty sequence (it would steer nothing)")
    for layer in chosen:
        check_layer(layer, n_layers, name)
    if len(set(chosen)) != len(chosen):
        repeated = sorted({x for x in chosen if chosen.count(x) > 1})
        raise InvalidParameterError(name, accepted, f"repeated layer(s) {repeated}")
    if len(chosen) > n_layers:  # distinct and in range: impossible, kept as a guard
        raise InvalidParameterError(name, accepted, f"more than {n_layers} layers")
    return chosen
