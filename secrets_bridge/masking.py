"""How a secret value may be shown: a short prefix and a fingerprint, never more.

Every output of the project (terminal, logs, JSON and Markdown reports,
exception messages) goes through `mask`; the only way to see a value is an
explicit `--reveal` flag. `scrub` is the last line of defence for messages: it
masks anything in a text that looks like a key (a known public prefix, or a long
token mixing cases and digits with high entropy), so a value typed where a name
or an option goes is never echoed back.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable

# Known public prefixes say which kind of key it is without revealing entropy.
_PUBLIC_PREFIXES = (
    "github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
    "sk-proj-", "sk-svcacct-", "sk-admin-", "sk-", "secret_", "pk-",
)


def fingerprint(value: str) -> str:
    """A short, stable, one-way identifier: tells two values apart, reveals nothing."""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:12]


def mask(value: str | None) -> str:
    """`ghp_…(40 chars) sha256:1a2b3c4d5e6f`: the public prefix, the length, the fingerprint."""
    if not value:
        return "(empty)"
    prefix = next((p for p in _PUBLIC_PREFIXES if value.startswith(p)), "")
    return f"{prefix}…({len(value)} chars) {fingerprint(value)}"


_TOKEN = re.compile(r"[A-Za-z0-9_\-.+/=~]{8,}")
_MIN_ENTROPY_BITS = 3.5


def looks_like_key(token: str) -> bool:
    """A known key prefix with a body; or 16+ characters mixing upper case, lower case and
    digits (names are UPPER_SNAKE, words are not mixed with digits); or 32+ characters of
    high entropy (hex and base32 tokens). Paths and URLs (a '/') only by their prefix."""
    for prefix in _PUBLIC_PREFIXES:
        if token.startswith(prefix) and len(token) >= len(prefix) + 8:
            return True
    if "/" in token or len(token) < 16:
        return False
    if any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token):
        return True
    counts = Counter(token)
    entropy = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return len(token) >= 32 and entropy >= _MIN_ENTROPY_BITS


def scrub(text: str, known: Iterable[str] = ()) -> str:
    """`text` with every `known` value, and every token that looks like a key, masked."""
    for value in sorted((v for v in known if v and len(v) >= 4), key=len, reverse=True):
        text = text.replace(value, mask(value))
    return _TOKEN.sub(lambda m: mask(m.group(0)) if looks_like_key(m.group(0)) else m.group(0), text)
