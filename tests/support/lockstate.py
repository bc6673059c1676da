"""A shared backend as the lock tests see it: its lock objects, listed and planted directly (PostgreSQL rows, S3 objects).

A planted lock is what another operator's engine would write: the same key layout and JSON
(pid, username, hostname, RFC3339 timestamp), so the engine itself reports it.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from tests.support import services

LOCKS = ".pulumi/locks/organization/orchestra/"


@dataclass
class SharedBackend:
    kind: str                  # postgres | s3
    url: str                   # PULUMI_BACKEND_URL
    env: dict[str, str]        # credentials the engine needs besides the URL
    name: str                  # the database or the bucket
    postgres: services.Postgres | None = None
    moto: services.MotoServer | None = None
    stack: str = "local"

    @property
    def _prefix(self) -> str:
        """The Postgres backend keys every object by the URL's path (the database name) first; S3 by the bucket's root."""
        return (f"{self.name}/" if self.postgres is not None else "") + f"{LOCKS}{self.stack}/"

    def lock_keys(self) -> list[str]:
        if self.postgres is not None:
            if not self.postgres.psql("SELECT to_regclass('pulumi_state')", database=self.name).strip():
                return []       # the engine creates its table on first use
            out = self.postgres.psql(f"SELECT key FROM pulumi_state WHERE key LIKE '{self._prefix}%' ORDER BY key",
                                     database=self.name)
            return out.split()
        assert self.moto is not None
        listed = self.moto.client("s3").list_objects_v2(Bucket=self.name, Prefix=self._prefix)
        return sorted(obj["Key"] for obj in listed.get("Contents", []))

    def plant_lock(self, *, user: str, host: str, pid: int, at: datetime, key: str | None = None) -> str:
        key = key or f"{self._prefix}{uuid.uuid4()}.json"
        body = json.dumps({"pid": pid, "username": user, "hostname": host, "timestamp": at.isoformat()})
        if self.postgres is not None:
            row = json.dumps({"data": base64.b64encode(body.encode()).decode()})
            self.postgres.psql(f"INSERT INTO pulumi_state (key, data) VALUES ('{key}', '{row}') "
                               f"ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data", database=self.name)
        else:
            assert self.moto is not None
            self.moto.client("s3").put_object(Bucket=self.name, Key=key, Body=body.encode())
        return key


def shared_backend(kind: str, name: str, postgres: services.Postgres, moto: services.MotoServer,
                   stack: str = "local") -> SharedBackend:
    if kind == "postgres":
        return SharedBackend(kind, postgres.url(postgres.create_database(name)), {}, name, postgres=postgres, stack=stack)
    bucket = moto.create_bucket(name)
    return SharedBackend(kind, moto.bucket_url(bucket), moto.env(), bucket, moto=moto, stack=stack)
