"""The secret store's on-disk format (version 1) and the cryptography behind it.

Shown wrapped; in the file each entry is one line, so a changed key is a one-line diff:

    {
      "version": 1,
      "env": "production",
      "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "<base64, 16 random bytes>"},
      "key_check": "<base64 HMAC-SHA256(check subkey, constant)>",
      "entries": {
        "OPENAI_API_KEY": {"token": "<Fernet token of {\"env\",\"name\",\"value\"}>",
                           "created_at": "2025-01-01T00:00:00.000000+00:00",
                           "rotated_at": "2025-01-01T00:00:00.000000+00:00"}
      },
      "mac": "<base64 HMAC-SHA256(mac subkey, canonical JSON of everything but mac)>"
    }

Key schedule: root = KDF(master key, salt) with the header's parameters, run once per process
per (key, salt, parameters); HKDF-SHA256 splits root into three independent subkeys (Fernet, MAC,
key check). Each value is encrypted with its env and name inside, so a token moved to another
slot or file fails to open; the MAC over the whole document catches removed, added or edited
entries and header fields. The key check tells a wrong master key apart from tampering, except
for an edited salt or in-range KDF cost: those derive another key, so they read as a wrong key.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from secrets_bridge.errors import StoreCorrupt, StoreVersionTooNew, WrongMasterKey

FORMAT_VERSION = 1
SALT_BYTES = 16
_KEY_CHECK_CONSTANT = b"orchestra secret store: key check"
_RESTORE = "restore it from a backup, or move it aside and set the keys again"


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost; the default is OWASP's recommendation (128 MiB, a few hundred ms)."""

    name: ClassVar[str] = "scrypt"
    n: int = 2**17
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        # Floor: below 2**14 a stolen file is cheap to brute-force. Ceiling: a tampered header
        # must not be able to make opening the file take gigabytes of memory.
        if not (2**14 <= self.n <= 2**20 and self.n & (self.n - 1) == 0):
            raise ValueError(f"scrypt n must be a power of two in 2**14..2**20, not {self.n}")
        if not (1 <= self.r <= 8 and 1 <= self.p <= 16):
            raise ValueError(f"scrypt r must be 1..8 and p 1..16, not r={self.r} p={self.p}")

    def derive(self, secret: bytes, salt: bytes) -> bytes:
        return Scrypt(salt=salt, length=32, n=self.n, r=self.r, p=self.p).derive(secret)

    def to_json(self) -> dict:
        return {"name": self.name, "n": self.n, "r": self.r, "p": self.p}


@dataclass(frozen=True)
class Pbkdf2Params:
    """PBKDF2-HMAC-SHA256, accepted so files written under it keep opening."""

    name: ClassVar[str] = "pbkdf2-sha256"
    iterations: int = 600_000

    def __post_init__(self) -> None:
        if not 600_000 <= self.iterations <= 10_000_000:
            raise ValueError(f"pbkdf2-sha256 iterations must be 600000..10000000, not {self.iterations}")

    def derive(self, secret: bytes, salt: bytes) -> bytes:
        return PBKDF2HMAC(hashes.SHA256(), length=32, salt=salt, iterations=self.iterations).derive(secret)

    def to_json(self) -> dict:
        return {"name": self.name, "iterations": self.iterations}


KdfParams = ScryptParams | Pbkdf2Params
DEFAULT_KDF: KdfParams = ScryptParams()


@dataclass(frozen=True)
class StoreKeys:
    """The subkeys for one (KDF parameters, salt); never printed."""

    kdf: KdfParams
    salt: bytes = field(repr=False)
    fernet: Fernet = field(repr=False)
    mac_key: bytes = field(repr=False)
    key_check: str = field(repr=False)


@dataclass(frozen=True)
class Entry:
    token: str
    created_at: str
    rotated_at: str


@dataclass(frozen=True)
class Document:
    """A parsed store file; `entries` hold ciphertext only."""

    env: str
    kdf: KdfParams
    salt: bytes = field(repr=False)
    key_check: str = field(repr=False)
    entries: dict[str, Entry] = field(repr=False)


# Keyed by a peppered hash so the cache never holds the master key itself.
_PEPPER = os.urandom(32)
_derived: dict[bytes, StoreKeys] = {}


def derive_keys(master_key: str, kdf: KdfParams, salt: bytes) -> StoreKeys:
    """Run the KDF at most once per process for a given (master key, parameters, salt)."""
    params = json.dumps(kdf.to_json(), sort_keys=True).encode()
    cache_key = hmac.digest(_PEPPER, b"\0".join([master_key.encode(), params, salt]), "sha256")
    if cache_key not in _derived:
        root = kdf.derive(master_key.encode(), salt)
        fernet_key, mac_key, check_key = (_subkey(root, purpose) for purpose in (b"fernet", b"mac", b"key-check"))
        _derived[cache_key] = StoreKeys(
            kdf=kdf,
            salt=salt,
            fernet=Fernet(base64.urlsafe_b64encode(fernet_key)),
            mac_key=mac_key,
            key_check=_b64(hmac.digest(check_key, _KEY_CHECK_CONSTANT, "sha256")),
        )
    return _derived[cache_key]


def _subkey(root: bytes, purpose: bytes) -> bytes:
    return HKDF(hashes.SHA256(), length=32, salt=None, info=b"orchestra-store-v1 " + purpose).derive(root)


def encrypt_value(keys: StoreKeys, env: str, name: str, value: str) -> str:
    payload = json.dumps({"env": env, "name": name, "value": value}, sort_keys=True)
    return keys.fernet.encrypt(payload.encode()).decode()


def decrypt_value(keys: StoreKeys, env: str, name: str, token: str, path: Path) -> str:
    try:
        payload = json.loads(keys.fernet.decrypt(token.encode()))
    except (InvalidToken, ValueError):
        raise StoreCorrupt(f"{path}: the value of {name} does not decrypt; {_RESTORE}") from None
    if payload.get("env") != env or payload.get("name") != name or not isinstance(payload.get("value"), str):
        raise StoreCorrupt(f"{path}: the value in slot {name} belongs to another key or environment; {_RESTORE}")
    return payload["value"]


def serialize(doc: Document, keys: StoreKeys) -> bytes:
    """The file's bytes: one line per entry, sorted, so a change to one key is a one-line diff.
    Laid out by hand because json.dumps(indent=...) falls back to the slow pure-Python encoder."""
    body = {**_body(doc), "mac": _mac(doc, keys)}
    entries = body.pop("entries")
    fields = [f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in body.items()]
    rows = [f"    {json.dumps(name)}: {json.dumps(entries[name], sort_keys=True)}" for name in sorted(entries)]
    fields.insert(-1, '  "entries": {' + ("\n" + ",\n".join(rows) + "\n  }" if rows else "}"))
    return ("{\n" + ",\n".join(fields) + "\n}\n").encode()


def parse(raw: bytes, path: Path, env: str) -> tuple[Document, str]:
    """Check the structure of a store file; returns the document and its (unverified) MAC."""
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _corrupt(path, f"not valid JSON, possibly truncated: {_first_line(exc)}") from None
    if not isinstance(data, dict):
        raise _corrupt(path, "not a JSON object")
    version = data.get("version")
    if type(version) is int and version > FORMAT_VERSION:
        raise StoreVersionTooNew(
            f"{path} uses store format version {version}; this program reads up to {FORMAT_VERSION}: "
            "upgrade orchestra-infra"
        )
    if version != FORMAT_VERSION or type(version) is not int:
        raise _corrupt(path, f"unknown format version {version!r}")
    _expect_fields(path, "the file", data, {"version", "env", "kdf", "key_check", "entries", "mac"})
    if data["env"] != env:
        raise _corrupt(path, f"it holds the store of environment {data['env']!r}, not {env!r}")
    kdf, salt = _parse_kdf(path, data["kdf"])
    if not isinstance(data["entries"], dict):
        raise _corrupt(path, "entries is not an object")
    entries = {name: _parse_entry(path, name, entry) for name, entry in data["entries"].items()}
    for text in (data["key_check"], data["mac"]):
        if not isinstance(text, str):
            raise _corrupt(path, "key_check or mac is not text")
        _decode_b64(path, text)
    doc = Document(env=env, kdf=kdf, salt=salt, key_check=data["key_check"], entries=entries)
    return doc, data["mac"]


def verify(doc: Document, mac: str, keys: StoreKeys, path: Path) -> None:
    """MAC first: if it holds, the key is right and nothing was touched. If it fails, the key
    check decides whether the key is wrong or the content was altered."""
    if hmac.compare_digest(_mac(doc, keys), mac):
        return
    # The key is right if the check matches, or if only the check field itself was edited.
    if hmac.compare_digest(keys.key_check, doc.key_check) or hmac.compare_digest(
        _mac(replace(doc, key_check=keys.key_check), keys), mac
    ):
        raise StoreCorrupt(f"{path} was modified outside this program (integrity check failed); {_RESTORE}")
    raise WrongMasterKey(
        f"the master key does not open {path} (or its key check or KDF header was altered); "
        "check ORCHESTRA_MASTER_KEY / ORCHESTRA_MASTER_KEY_FILE"
    )


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def parse_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _body(doc: Document) -> dict:
    return {
        "version": FORMAT_VERSION,
        "env": doc.env,
        "kdf": {**doc.kdf.to_json(), "salt": _b64(doc.salt)},
        "key_check": doc.key_check,
        "entries": {
            name: {"token": e.token, "created_at": e.created_at, "rotated_at": e.rotated_at}
            for name, e in doc.entries.items()
        },
    }


def _mac(doc: Document, keys: StoreKeys) -> str:
    canonical = json.dumps(_body(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    return _b64(hmac.digest(keys.mac_key, canonical, "sha256"))


def _parse_kdf(path: Path, kdf: object) -> tuple[KdfParams, bytes]:
    if not isinstance(kdf, dict):
        raise _corrupt(path, "kdf is not an object")
    kinds = {ScryptParams.name: (ScryptParams, {"n", "r", "p"}), Pbkdf2Params.name: (Pbkdf2Params, {"iterations"})}
    if kdf.get("name") not in kinds:
        raise _corrupt(path, f"unknown KDF {kdf.get('name')!r}")
    cls, numbers = kinds[kdf["name"]]
    _expect_fields(path, "kdf", kdf, numbers | {"name", "salt"})
    if any(type(kdf[k]) is not int for k in numbers):
        raise _corrupt(path, "KDF parameters are not integers")
    try:
        params = cls(**{k: kdf[k] for k in numbers})
    except ValueError as exc:
        raise _corrupt(path, f"KDF parameters out of the accepted range: {exc}") from None
    if not isinstance(kdf["salt"], str):
        raise _corrupt(path, "the salt is not text")
    salt = _decode_b64(path, kdf["salt"])
    if len(salt) != SALT_BYTES:
        raise _corrupt(path, f"the salt is {len(salt)} bytes, not {SALT_BYTES}")
    return params, salt


def _parse_entry(path: Path, name: str, entry: object) -> Entry:
    if not name or not isinstance(entry, dict):
        raise _corrupt(path, f"entry {name!r} is malformed")
    _expect_fields(path, f"entry {name!r}", entry, {"token", "created_at", "rotated_at"})
    if not all(isinstance(entry[k], str) for k in ("token", "created_at", "rotated_at")):
        raise _corrupt(path, f"entry {name!r} has non-text fields")
    try:
        parse_timestamp(entry["created_at"])
        parse_timestamp(entry["rotated_at"])
    except ValueError:
        raise _corrupt(path, f"entry {name!r} has an invalid timestamp") from None
    return Entry(token=entry["token"], created_at=entry["created_at"], rotated_at=entry["rotated_at"])


def _expect_fields(path: Path, what: str, obj: dict, fields: set[str]) -> None:
    if set(obj) != fields:
        raise _corrupt(path, f"{what} has fields {sorted(obj)}, expected {sorted(fields)}")


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    # json.loads keeps the last duplicate silently: the text a person reviews would differ from
    # what is verified.
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in object")
    return dict(pairs)


def _decode_b64(path: Path, text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _corrupt(path, "a base64 field is malformed") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _corrupt(path: Path, reason: str) -> StoreCorrupt:
    return StoreCorrupt(f"{path} is not a valid secret store ({reason}); {_RESTORE}")

