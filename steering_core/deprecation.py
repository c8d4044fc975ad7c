"""The old call forms of the public API, kept for one release with a :class:`DeprecationWarning`.

Everything that still accepts a deprecated spelling goes through this module, so removing them
next release is deleting this module's callers' fallbacks:

* ``f(model, tokenizer, ...)`` instead of ``f(lm, ...)`` (:func:`model_first`: the decorator that
  puts the old form in front of the one implementation, whose parameter list is written once);
* a renamed keyword, e.g. ``extract(position=...)`` for ``read_at=`` (:func:`renamed_keyword`);
* a renamed attribute or method (:func:`warn_deprecated`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, cast, overload

from torch import nn

from steering_core.errors import InvalidParameterError
from steering_core.models import LoadedModel, is_loaded

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


def warn_deprecated(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new`` (removed in the next release)."""
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def keyword_lm(lm: Any, kwargs: dict[str, Any], function: str, stacklevel: int = 5) -> tuple[Any, dict[str, Any]]:
    """The loaded model of a call, also when passed by an old keyword (``model=``, ``loaded_or_model=``).

    Raises:
        InvalidParameterError: no model at all.
    """
    if lm is not None:
        return lm, kwargs
    for old in ("model", "loaded_or_model"):
        if old in kwargs:
            kwargs = dict(kwargs)
            warn_deprecated(f"{function}({old}=...)", f"{function}(lm, ...) (the loaded model, first)", stacklevel)
            return kwargs.pop(old), kwargs
    raise InvalidParameterError("lm", f"the loaded model: {function}(lm, ...) with lm = load_model(...)", None)


def loaded_args(
    lm: Any, args: tuple[Any, ...], kwargs: dict[str, Any], function: str
) -> tuple[LoadedModel, tuple[Any, ...], dict[str, Any]]:
    """``(lm, args, kwargs)`` of a call whose first argument is a loaded model.

    A loaded model is a :class:`~steering_core.models.LoadedModel` or the same duck type
    (:func:`~steering_core.models.is_loaded`), returned as given. The old form
    ``function(model, tokenizer, ...)`` still works for one release: the tokenizer is the keyword
    ``tokenizer`` or else the first positional argument after the model, the pair becomes
    ``LoadedModel(model=model, tokenizer=tokenizer)``, and a :class:`DeprecationWarning` names the
    new form. Call it directly from the public function (the warning points at that function's
    caller).

    Raises:
        InvalidParameterError: the old form without a tokenizer, or no model at all.
    """
    by_keyword = lm is None
    lm, kwargs = keyword_lm(lm, kwargs, function)
    if is_loaded(lm):
        return cast(LoadedModel, lm), args, kwargs
    if not by_keyword:  # a keyword model= has had its warning already
        warn_deprecated(
            f"{function}(model, tokenizer, ...)",
            f"{function}(lm, ...) with lm = load_model(...) or LoadedModel(model=..., tokenizer=...)",
            stacklevel=4,
        )
    kwargs = dict(kwargs)
    if "tokenizer" in kwargs:
        return LoadedModel(model=lm, tokenizer=kwargs.pop("tokenizer")), args, kwargs
    if not args:
        raise InvalidParameterError("tokenizer", f"the model's tokenizer (or call {function}(lm, ...))", None)
    return LoadedModel(model=lm, tokenizer=args[0]), args[1:], kwargs


class ModelFirst(Protocol, Generic[P, R_co]):
    """A public function ``f(lm, ...)`` that still takes the deprecated ``f(model, tokenizer, ...)``."""

    @overload
    def __call__(self, lm: LoadedModel, /, *args: P.args, **kwargs: P.kwargs) -> R_co: ...
    @overload
    def __call__(self, lm: nn.Module, /, *args: Any, **kwargs: Any) -> R_co: ...  # deprecated form


def model_first(function: Callable[Concatenate[LoadedModel, P], R]) -> ModelFirst[P, R]:
    """``function(lm, ...)`` (its one signature and docstring), also callable in the old forms.

    The returned function accepts ``f(model, tokenizer, ...)``, ``f(model=..., tokenizer=...)``
    and ``f(loaded_or_model=...)`` with a :class:`DeprecationWarning` at the caller's line, and
    passes ``function`` the loaded model (:func:`loaded_args`). A call without any model is an
    :class:`~steering_core.errors.InvalidParameterError` naming ``lm``.
    """
    name = function.__name__

    @functools.wraps(function)
    def public(lm: Any = None, *args: Any, **kwargs: Any) -> R:
        loaded, args, kwargs = loaded_args(lm, args, kwargs, name)
        return function(loaded, *args, **kwargs)

    return cast(ModelFirst[P, R], public)


def renamed_keyword(function: str, old: str, old_value: T | None, new: str, new_value: T, default: T) -> T:
    """The value of keyword ``new``, or of its deprecated old name ``old`` (with a warning).

    Raises:
        InvalidParameterError: both names given with different values.
    """
    if old_value is None:
        return new_value
    warn_deprecated(f"{function}({old}=...)", f"{function}({new}=...)", stacklevel=5)
    if new_value != default and new_value != old_value:
        raise InvalidParameterError(old, f"only one of {old!r} (deprecated) and {new!r}", repr(old_value))
    return old_value
