"""Checks a registered Vercel resource's inputs against the SDK's own typed Args classes.

No package schema of pulumiverse-vercel 5.21.1 is available, so the generated SDK is
the contract: `<Resource>Args` (and the nested `...Args` input types) give the wire
names, the required parameters and the types; the resource's constructor says which
inputs it always sends as secrets.
"""

from __future__ import annotations

import collections.abc
import importlib
import inspect
import re
import typing
from typing import Any

import pulumi
import pulumiverse_vercel
from pulumi._types import input_type_py_to_pulumi_names, input_type_types, is_input_type
from pulumi.runtime import rpc


def classes(token: str) -> tuple[type, type]:
    """(resource class, Args class) of a token such as vercel:index/projectRoute:ProjectRoute."""
    if token == "pulumi:providers:vercel":
        return pulumiverse_vercel.Provider, pulumiverse_vercel.ProviderArgs
    _, module, name = token.split(":")
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", module.split("/")[1]).lower()
    sdk = importlib.import_module(f"pulumiverse_vercel.{snake}")
    return getattr(sdk, name), getattr(sdk, f"{name}Args")


def secret_inputs(resource_cls: type, args_cls: type) -> set[str]:
    """Wire names of the inputs the SDK wraps in Output.secret itself (e.g. an env var's value)."""
    source = inspect.getsource(resource_cls._internal_init)  # type: ignore[attr-defined]
    py_names = set(re.findall(r'__props__\.__dict__\["(\w+)"\] = None if \w+ is None else pulumi\.Output\.secret', source))
    names = input_type_py_to_pulumi_names(args_cls)
    return {names[n] for n in py_names if n in names}


def _plain(value: Any) -> Any:
    return _plain(rpc.unwrap_rpc_secret(value)) if rpc.is_rpc_secret(value) else value


def _inner(hint: Any) -> Any:
    """Input[T] is Union[T, Awaitable[T], Output[T]]: T."""
    if typing.get_origin(hint) is typing.Union:
        for arg in typing.get_args(hint):
            if typing.get_origin(arg) is not collections.abc.Awaitable and not (
                    isinstance(arg, type) and issubclass(arg, pulumi.Output)) and typing.get_origin(arg) is not pulumi.Output \
                    and arg is not type(None):
                return arg
    return hint


def _check(where: str, hint: Any, value: Any) -> list[str]:
    value, hint = _plain(value), _inner(hint)
    if value is None:
        return []
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and is_input_type(hint):
        if not isinstance(value, dict):
            return [f"{where}: expected an object ({hint.__name__}), got {type(value).__name__}"]
        return _check_args(where, hint, value)
    if origin in (collections.abc.Sequence, list):
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        (item,) = typing.get_args(hint)
        return [e for i, v in enumerate(value) for e in _check(f"{where}[{i}]", item, v)]
    if origin in (collections.abc.Mapping, dict):
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping, got {type(value).__name__}"]
        item = typing.get_args(hint)[1]
        return [e for k, v in value.items() for e in _check(f"{where}.{k}", item, v)]
    if hint is bool:
        return [] if isinstance(value, bool) else [f"{where}: expected a bool, got {type(value).__name__}"]
    if hint is int:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()
        return [] if ok else [f"{where}: expected an int, got {type(value).__name__}"]
    if hint is float:
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else [f"{where}: expected a number"]
    if hint is str:
        return [] if isinstance(value, str) else [f"{where}: expected a str, got {type(value).__name__}"]
    return []   # Any and the like: nothing to check


def _check_args(where: str, args_cls: type, value: dict[str, Any]) -> list[str]:
    names = input_type_py_to_pulumi_names(args_cls)
    types = input_type_types(args_cls)
    params = inspect.signature(args_cls.__init__).parameters   # type: ignore[misc]
    required = [names[p] for p, spec in params.items() if p in names and spec.default is inspect.Parameter.empty]
    errors = [f"{where}: unknown input {key!r}" for key in value if key not in types]
    errors += [f"{where}: required input {key!r} is missing" for key in required if _plain(value.get(key)) is None]
    for key, item in value.items():
        if key in types:
            errors += _check(f"{where}.{key}", types[key], item)
    return errors


def validate(token: str, name: str, inputs: dict[str, Any]) -> list[str]:
    resource_cls, args_cls = classes(token)
    ignored = {"version", "pluginDownloadURL"} if token.startswith("pulumi:providers:") else set()
    where = f"{name} ({token})"
    errors = _check_args(where, args_cls, {k: v for k, v in inputs.items() if k not in ignored})
    for key in sorted(secret_inputs(resource_cls, args_cls)):
        if key in inputs and inputs[key] is not None and not rpc.is_rpc_secret(inputs[key]):
            errors.append(f"{where}.{key}: the SDK always sends it as a secret, but it was plaintext")
    return errors
