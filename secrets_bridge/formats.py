"""Format rules: does a value look like the key it claims to be?

`check_format(name, value)` returns a `FormatVerdict`:

- "error": the value breaks a format the vendor publishes (GitHub's token
  prefixes, OpenAI's `sk-`), or carries whitespace/quotes pasted around it.
  Such values are refused, never silently repaired: a stripped value would
  differ from what the person believes they stored.
- "warn": the value does not match a format we only inferred from observed
  keys (Lambda, Vercel, OpenAI's lengths); the vendor may change it any day.
- "ok": nothing to say.

Messages never contain the value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from secrets_bridge.catalog import KeySpec, spec_for

Status = Literal["ok", "warn", "error"]


@dataclass(frozen=True)
class FormatVerdict:
    status: Status
    message: str


def _ok(message: str) -> FormatVerdict:
    return FormatVerdict("ok", message)


def _warn(message: str) -> FormatVerdict:
    return FormatVerdict("warn", message)


def _error(message: str) -> FormatVerdict:
    return FormatVerdict("error", message)


_QUOTES = {'"': "double quotes", "'": "single quotes", "`": "backticks"}
_WHITESPACE_NAMES = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab", " ": "a space"}


def _describe_char(char: str) -> str:
    return _WHITESPACE_NAMES.get(char, f"whitespace (U+{ord(char):04X})")


def _paste_problem(value: str, *, inner_newlines_ok: bool = False) -> str | None:
    """What a copy-paste left around the value, said exactly, or None."""
    if value == "":
        return "is empty"
    if value[0].isspace():
        return f"starts with {_describe_char(value[0])}"
    if value[-1].isspace():
        return f"ends with {_describe_char(value[-1])}"
    if len(value) >= 2 and value[0] == value[-1] and value[0] in _QUOTES:
        return f"is wrapped in {_QUOTES[value[0]]}"
    if value[0] in _QUOTES or value[-1] in _QUOTES:
        return "starts or ends with a quote character"
    for char in () if inner_newlines_ok else ("\n", "\r"):
        if char in value:
            return f"contains {_describe_char(char)} inside"
    return None


_GITHUB_RULES = (
    (re.compile(r"ghp_[A-Za-z0-9]{36}"), "classic personal access token"),
    (re.compile(r"github_pat_\w{82}"), "fine-grained personal access token"),
    (re.compile(r"gho_[A-Za-z0-9]{36}"), "OAuth access token"),
    (re.compile(r"ghu_[A-Za-z0-9]{36}"), "GitHub App user-to-server token"),
    (re.compile(r"ghs_[A-Za-z0-9]{36}"), "GitHub App installation token"),
    (re.compile(r"ghr_[A-Za-z0-9]{36}"), "GitHub App refresh token"),
)
_GITHUB_PREFIXES = ("ghp_", "github_pat_", "gho_", "ghu_", "ghs_", "ghr_")


def _github(value: str) -> FormatVerdict:
    for pattern, kind in _GITHUB_RULES:
        if pattern.fullmatch(value):
            return _ok(f"GitHub {kind}")
    prefix = next((p for p in _GITHUB_PREFIXES if value.startswith(p)), None)
    if prefix:
        expected = "82 word characters" if prefix == "github_pat_" else "36 letters or digits"
        return _error(f"starts with {prefix} but is not followed by exactly {expected} (truncated paste?)")
    if re.fullmatch(r"[0-9a-f]{40}", value):
        return _warn("old-style 40-hex GitHub token; GitHub now issues ghp_/github_pat_ tokens")
    return _error("not a GitHub token: expected ghp_…, github_pat_…, gho_/ghu_/ghs_/ghr_…")


_OPENAI_MARKER = "T3BlbkFJ"  # base64 of "OpenAI", embedded in every key seen so far
_OPENAI_MODERN = re.compile(r"sk-(proj|svcacct|admin)-[A-Za-z0-9_-]+")
_OPENAI_LEGACY = re.compile(r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}")


def _openai(value: str) -> FormatVerdict:
    modern = _OPENAI_MODERN.fullmatch(value)
    if modern:
        kind = {"proj": "project", "svcacct": "service account", "admin": "admin"}[modern.group(1)]
        if _OPENAI_MARKER in value:
            return _ok(f"OpenAI {kind} key")
        return _warn(f"sk-{modern.group(1)}- key without the {_OPENAI_MARKER} marker OpenAI keys carry")
    if _OPENAI_LEGACY.fullmatch(value):
        return _ok("OpenAI legacy user key")
    if value.startswith("sk-"):
        if re.fullmatch(r"sk-[A-Za-z0-9_-]+", value):
            return _warn("sk- key of an unrecognised shape (expected sk-proj-, sk-svcacct-, sk-admin-)")
        return _error("OpenAI keys contain only letters, digits, '-' and '_' after sk-")
    return _error("not an OpenAI key: OpenAI keys start with sk-")


def _vercel(value: str) -> FormatVerdict:
    if re.fullmatch(r"[A-Za-z0-9]{24}", value):
        return _ok("Vercel token")
    return _warn("Vercel tokens seen so far are 24 letters or digits; this one is not (format inferred)")


def _lambda(value: str) -> FormatVerdict:
    if re.fullmatch(r"secret_[A-Za-z0-9_-]+\.[A-Za-z0-9]+", value):
        return _ok("Lambda Cloud key")
    return _warn("Lambda Cloud keys seen so far look like secret_<id>.<token>; this one does not (format inferred)")


def _portkey(value: str) -> FormatVerdict:
    if any(char.isspace() for char in value):
        return _warn("contains whitespace; Portkey publishes no key format, so this is only a warning")
    return _ok("Portkey publishes no key format; checked for whitespace only")


_RULES: dict[str, Callable[[str], FormatVerdict]] = {
    "GITHUB_TOKEN": _github,
    "OPENAI_API_KEY": _openai,
    "VERCEL_TOKEN": _vercel,
    "LAMBDA_API_KEY": _lambda,
    "PORTKEY_API_KEY": _portkey,
}


def _invisible(value: str, *, allow_newlines: bool) -> str | None:
    """The first control, zero-width or other invisible character, said by code point and position."""
    for position, char in enumerate(value, 1):
        if allow_newlines and char in "\n\t":
            continue
        if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Co", "Cn"}:
            return f"contains an invisible or control character (U+{ord(char):04X}) at position {position}"
    return None


def check_format(key: str | KeySpec, value: str) -> FormatVerdict:
    """Check `value` against the rule of `key`: a catalog name or alias, or any KeySpec
    (a declared key's `pattern` is its rule). Catalog keys travel in HTTP headers, so they
    must be printable ASCII, the same rule the live checks apply."""
    spec = key if isinstance(key, KeySpec) else _spec(key)
    catalog = spec is not None and spec.kind == "catalog"
    # Only custom and declared keys may span lines (a certificate, say); a token never does.
    multiline = spec is not None and spec.kind in ("custom", "declared")
    problem = _paste_problem(value, inner_newlines_ok=multiline)
    if problem:
        return _error(f"value {problem}; paste the key alone, nothing is stripped for you")
    problem = _invisible(value, allow_newlines=multiline)
    if problem is None and catalog and not value.isascii():
        first = next(char for char in value if not char.isascii())
        problem = f"contains a non-ASCII character (U+{ord(first):04X}), which an HTTP header cannot carry"
    if problem:
        return _error(f"value {problem}; type or paste the key again")
    if spec is not None and spec.pattern:
        if re.fullmatch(spec.pattern, value):
            return _ok(f"matches the format declared for {spec.name}")
        return _error(f"does not match the format declared for {spec.name} in secrets-bridge.toml")
    rule = _RULES.get(spec.name) if spec is not None else None
    if rule is None:
        return _ok("no format rule for this name")
    return rule(value)


def _spec(name: str) -> KeySpec | None:
    try:
        return spec_for(name)
    except ValueError:
        return None
