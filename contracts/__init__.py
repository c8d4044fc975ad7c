"""Runtime contracts (icontract for values, deal for effects) for steering_core's public API.

See :mod:`contracts.api` for which library does what and how to switch contracts off.
"""

from contracts.api import (
    CONTRACTS,
    attached_contracts,
    check_no_hooks_left,
    contracted,
    contracts_disabled,
    contracts_enabled,
    ensure_no_hooks_left,
    hook_snapshot,
    no_hooks_left,
    safe_mode,
    safe_mode_rho,
    set_contracts_enabled,
    set_safe_mode,
)

__all__ = [
    "CONTRACTS",
    "attached_contracts",
    "check_no_hooks_left",
    "contracted",
    "contracts_disabled",
    "contracts_enabled",
    "ensure_no_hooks_left",
    "hook_snapshot",
    "no_hooks_left",
    "safe_mode",
    "safe_mode_rho",
    "set_contracts_enabled",
    "set_safe_mode",
]
