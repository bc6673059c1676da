"""Checks a registered resource's inputs against the Pulumi package schema of pulumi-github 6.15.0.

The schema (tests/specs/, a copy of ../shared/specs/) is the provider's own contract:
`inputProperties` (names on the wire, types, `secret`), `requiredInputs`, and the
object and enum types they refer to. The plugin cannot run here, so this is what
stands in for the provider's own input validation.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pulumi.runtime import rpc

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "specs" / "pulumi-github-6.15.0-schema.json"
# Inputs the SDK adds to every provider registration, outside the package's own properties.
_PROVIDER_ENGINE_INPUTS = {"version", "pluginDownloadURL"}


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def _spec(token: str) -> dict[str, Any]:
    if token == "pulumi:providers:github":
        return schema()["provider"]
    try:
        return schema()["resources"][token]
    except KeyError:
        raise AssertionError(f"{token} is not a resource of pulumi-github 6.15.0") from None


def _plain(value: Any) -> Any:
    return _plain(rpc.unwrap_rpc_secret(value)) if rpc.is_rpc_secret(value) else value


def _check(where: str, prop: dict[str, Any], value: Any) -> list[str]:
    value = _plain(value)
    if value is None:
        return []
    ref = prop.get("$ref")
    if ref:
        return _check_ref(where, ref, value)
    kind = prop.get("type")
    if kind == "string":
        return [] if isinstance(value, str) else [f"{where}: expected a string, got {type(value).__name__}"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean, got {type(value).__name__}"]
    if kind == "integer":
        # Numbers cross the wire as protobuf doubles: 5 arrives as 5.0.
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()
        return [] if ok else [f"{where}: expected an integer, got {type(value).__name__}"]
    if kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected a number, got {type(value).__name__}"]
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {type(value).__name__}"]
        return [e for i, item in enumerate(value) for e in _check(f"{where}[{i}]", prop.get("items", {}), item)]
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        items = prop.get("additionalProperties", {})
        return [e for k, v in value.items() for e in _check(f"{where}.{k}", items, v)]
    return [f"{where}: the schema type {kind!r} is not handled by this validator"]


def _check_ref(where: str, ref: str, value: Any) -> list[str]:
    if ref.startswith("pulumi.json#/"):
        return []   # Any, Archive, Asset: the engine's own types
    typ = schema()["types"][ref.removeprefix("#/types/")]
    if "enum" in typ:
        allowed = [e["value"] for e in typ["enum"]]
        return [] if value in allowed else [f"{where}: {value!r} is not one of {allowed}"]
    if not isinstance(value, dict):
        return [f"{where}: expected an object ({ref}), got {type(value).__name__}"]
    return _check_object(where, typ.get("properties", {}), typ.get("required", []), value)


def _check_object(where: str, props: dict[str, Any], required: list[str], value: dict[str, Any],
                  ignored: set[str] = frozenset()) -> list[str]:   # type: ignore[assignment]
    errors = [f"{where}: unknown input {key!r}" for key in value if key not in props and key not in ignored]
    errors += [f"{where}: required input {key!r} is missing" for key in required if _plain(value.get(key)) is None]
    for key, item in value.items():
        if key in props:
            errors += _check(f"{where}.{key}", props[key], item)
            if props[key].get("secret") and item is not None and not rpc.is_rpc_secret(item):
                errors.append(f"{where}.{key}: the schema marks it secret, but it was sent in plaintext")
    return errors


def validate(token: str, name: str, inputs: dict[str, Any]) -> list[str]:
    """Every way `inputs` (as the engine receives them, secrets still wrapped) breaks the schema."""
    spec = _spec(token)
    ignored = _PROVIDER_ENGINE_INPUTS if token.startswith("pulumi:providers:") else set()
    return _check_object(f"{name} ({token})", spec.get("inputProperties", {}), spec.get("requiredInputs", []),
                         inputs, ignored)
