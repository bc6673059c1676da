"""The emulated API's request rules: auth header forms, error replies and body validation, by the
OpenAPI 1.8.3 schemas (a value of the wrong JSON type is refused with 400, never echoed back)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from infra.lambda_cloud.catalog import MAX_NAME, MAX_PUBLIC_KEY, MAX_USER_DATA, REGIONS, TAG_KEY, is_public_key


class ApiError(Exception):
    """An error reply: HTTP status and the spec's error object."""

    def __init__(self, status: int, code: str, message: str, suggestion: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.suggestion = status, code, message, suggestion
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        error = {"code": self.code, "message": self.message}
        if self.suggestion is not None:
            error["suggestion"] = self.suggestion
        return {"error": error}


def invalid(message: str) -> ApiError:
    return ApiError(400, "global/invalid-parameters", message, "Check the request body and try again.")


def not_found(what: str) -> ApiError:
    return ApiError(404, "global/object-does-not-exist", f"Specified {what} does not exist.",
                    "Check the name or id and try again.")


def internal_error() -> ApiError:
    return ApiError(500, "global/internal-error", "An internal server error occurred.",
                    "Try again later. Contact Support if the problem persists.")


def key_from_header(header: str | None) -> str | None:
    """The key from `Bearer <key>`, `Basic base64(<key>:)` or `Basic <key>` (the spec allows all three)."""
    scheme, _, value = (header or "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic" and value:
        try:
            user, colon, _password = base64.b64decode(value, validate=True).decode().partition(":")
            if colon:
                return user or None
        except (binascii.Error, UnicodeDecodeError):
            pass
        return value
    return None


def object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


def _string_list(request: Mapping[str, Any], name: str) -> None:
    value = request.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"{name} must be a list of strings")


def _is_port(value: Any) -> bool:
    # JSON true is a Python int: the schema's integer excludes it.
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def validate_launch(request: dict[str, Any]) -> dict[str, Any]:
    for name in ("region_name", "instance_type_name", "ssh_key_names"):
        if name not in request:
            raise invalid(f"{name} is required")
    if not isinstance(request["region_name"], str) or request["region_name"] not in REGIONS:
        raise invalid(f"region_name {request['region_name']!r} is not a Lambda region")
    if not isinstance(request["instance_type_name"], str):
        raise invalid("instance_type_name must be a string")
    _string_list(request, "ssh_key_names")
    _string_list(request, "file_system_names")
    if len(request["ssh_key_names"]) != 1:
        raise invalid("Exactly one SSH key must be specified.")
    label = request.get("name")
    if label is not None and (not isinstance(label, str) or len(label) > MAX_NAME):
        raise invalid(f"name must be a string of at most {MAX_NAME} characters")
    user_data = request.get("user_data")
    if user_data is not None and (not isinstance(user_data, str) or len(user_data.encode()) > MAX_USER_DATA):
        raise invalid("user_data must be plain text of at most 1 MB")
    tags = request.get("tags", [])
    if not isinstance(tags, list) or not all(
            isinstance(t, dict) and isinstance(t.get("key"), str) and isinstance(t.get("value"), str)
            and len(t["key"]) <= 55 and TAG_KEY.match(t["key"]) and len(t["value"]) <= 128 for t in tags):
        raise invalid("tags must be a list of {key, value} with keys like 'team' or 'app:role'")
    hostname = request.get("hostname")
    if hostname is not None and not (isinstance(hostname, str) and re.fullmatch(r"[a-z0-9][0-9a-z-]{0,62}", hostname)):
        raise invalid("hostname must be 1 to 63 lowercase letters, digits or hyphens")
    return request


def validate_rule(rule: Any) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise invalid("each firewall rule must be an object")
    protocol, ports = rule.get("protocol"), rule.get("port_range")
    if protocol not in ("tcp", "udp", "icmp", "all"):
        raise invalid("protocol must be one of tcp, udp, icmp, all")
    if protocol == "icmp":
        if ports is not None:
            raise invalid("port_range is not allowed for icmp")
    elif not (isinstance(ports, list) and len(ports) == 2 and all(_is_port(p) for p in ports) and ports[0] <= ports[1]):
        raise invalid("port_range must be [min, max] with ports 1..65535")
    source = rule.get("source_network")
    try:
        if not isinstance(source, str):
            raise TypeError(source)
        ipaddress.IPv4Network(source, strict=False)
    except (ValueError, TypeError):
        raise invalid("source_network must be an IPv4 address or CIDR block") from None
    description = rule.get("description")
    if not isinstance(description, str) or len(description) > 128:
        raise invalid("description must be a string of at most 128 characters")
    return {k: rule[k] for k in ("protocol", "port_range", "source_network", "description") if k in rule}


def validate_ssh_key(request: dict[str, Any]) -> tuple[str, str | None]:
    """(name, public_key or None to generate); a present `public_key` must be a key line, not null."""
    name = request.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise invalid(f"name must be a string of 1 to {MAX_NAME} characters")
    if "public_key" not in request:
        return name, None
    public_key = request["public_key"]
    if not is_public_key(public_key):
        raise invalid(f"public_key must be an OpenSSH public key of at most {MAX_PUBLIC_KEY} characters")
    return name, public_key.strip()


def generate_key_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return public, private
