"""The one way to see which hooks a model carries (to prove that steering left none behind).

Torch keeps a module's hooks in several registries (forward, forward pre, their ``with_kwargs``
and ``always_called`` companions, backward); a hook's id is unique across all of them.
:func:`hook_snapshot` lists every id on every submodule, so comparing a snapshot taken before a
steering context with one taken after it shows a leaked hook; :func:`hook_registered` asks the
same question about one installed hook. Used by :mod:`steering_core.steer` (re-exported),
:mod:`steering_core.dispatch` (its exit postcondition) and :mod:`contracts.api`.
"""

from __future__ import annotations

from torch import nn

HOOK_DICTS: tuple[str, ...] = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_pre_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_backward_hooks",
    "_backward_pre_hooks",
)
"""The per-module hook registries (one an older torch lacks is skipped)."""

HookSnapshot = dict[str, tuple[int, ...]]
"""Submodule name -> sorted ids of the hooks on it (modules without hooks are left out)."""


def hook_snapshot(model: nn.Module) -> HookSnapshot:
    """Sorted hook ids of every submodule that has a hook, over every registry in :data:`HOOK_DICTS`."""
    snapshot: HookSnapshot = {}
    for name, module in model.named_modules(remove_duplicate=False):
        ids: set[int] = set()
        for registry in HOOK_DICTS:
            ids.update(getattr(module, registry, None) or ())
        if ids:
            snapshot[name] = tuple(sorted(ids))
    return snapshot


def hook_registered(module: nn.Module, hook_id: int) -> str | None:
    """The registry of ``module`` that still holds hook ``hook_id``, or None when it is gone."""
    for registry in HOOK_DICTS:
        if hook_id in (getattr(module, registry, None) or {}):
            return registry
    return None
