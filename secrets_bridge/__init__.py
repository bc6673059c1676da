"""secrets_bridge: the platform's API keys, from an encrypted store and a priority chain to live checks.

    SecretManager (alias EnhancedSecretManager)  the Python API: get/set/delete/list/explain/verify
    SecretStore, store_path, resolve_env         the encrypted store, one file per environment
    resolve_all, values_to_deploy, build_chain   the priority chain (INSPECT and DEPLOY policies)
    Resolution, Policy, INSPECT, DEPLOY          a key's value with its provenance; the two orders
    CATALOG, KeySpec, get_spec                   the keys the platform knows
    mask, fingerprint                            the only ways a value is shown
    check_format, FormatVerdict                  format rules
    verify_all, verify_all_sync, CheckResult     live verification
    SecretsBridgeError and subclasses            errors (the tree is drawn in secrets_bridge.errors)

Names load on first use, so `import secrets_bridge.masking` (the driver, infra) stays light
and no import cycle can form through this module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "secrets_bridge.manager": ("SecretManager", "EnhancedSecretManager", "KeyInfo", "Explanation"),
    "secrets_bridge.store": ("SecretStore", "store_path", "resolve_env"),
    "secrets_bridge.resolver": ("resolve_all", "values_to_deploy", "build_chain", "Resolution", "Policy",
                                "INSPECT", "DEPLOY"),
    "secrets_bridge.catalog": ("CATALOG", "KeySpec", "get_spec"),
    "secrets_bridge.masking": ("mask", "fingerprint"),
    "secrets_bridge.formats": ("check_format", "FormatVerdict"),
    "secrets_bridge.verify": ("verify_all", "verify_all_sync", "CheckResult", "ApiUrls"),
    "secrets_bridge.errors": ("SecretsBridgeError", "MasterKeyMissing", "MasterKeyUnusable", "WrongMasterKey",
                              "WeakMasterKey", "StoreCorrupt",
                              "StoreVersionTooNew", "StoreUnreadable", "StorePermissionsTooBroad", "KeyNotFound",
                              "InvalidValue", "NoTerminal", "StoreLocked"),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "ApiUrls", "CATALOG", "CheckResult", "DEPLOY", "EnhancedSecretManager", "Explanation", "FormatVerdict",
    "INSPECT", "InvalidValue", "KeyInfo", "KeyNotFound", "KeySpec", "MasterKeyMissing", "MasterKeyUnusable",
    "NoTerminal", "Policy", "Resolution", "SecretManager", "SecretStore", "SecretsBridgeError",
    "StoreCorrupt", "StoreLocked", "StorePermissionsTooBroad", "StoreUnreadable", "StoreVersionTooNew",
    "WeakMasterKey", "WrongMasterKey", "build_chain", "check_format", "fingerprint", "get_spec", "mask",
    "resolve_all", "resolve_env", "store_path", "values_to_deploy", "verify_all", "verify_all_sync",
]

if TYPE_CHECKING:
    from secrets_bridge.catalog import CATALOG, KeySpec, get_spec
    from secrets_bridge.errors import (
        InvalidValue,
        KeyNotFound,
        MasterKeyMissing,
        MasterKeyUnusable,
        NoTerminal,
        SecretsBridgeError,
        StoreCorrupt,
        StoreLocked,
        StorePermissionsTooBroad,
        StoreUnreadable,
        StoreVersionTooNew,
        WeakMasterKey,
        WrongMasterKey,
    )
    from secrets_bridge.formats import FormatVerdict, check_format
    from secrets_bridge.manager import EnhancedSecretManager, Explanation, KeyInfo, SecretManager
    from secrets_bridge.masking import fingerprint, mask
    from secrets_bridge.resolver import DEPLOY, INSPECT, Policy, Resolution, build_chain, resolve_all, values_to_deploy
    from secrets_bridge.store import SecretStore, resolve_env, store_path
    from secrets_bridge.verify import ApiUrls, CheckResult, verify_all, verify_all_sync


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'secrets_bridge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
