"""The API's objects as the client returns them: frozen dataclasses built from reply JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InstanceType:
    name: str
    description: str
    gpu_description: str
    price_cents_per_hour: int
    specs: Mapping[str, int]
    regions_with_capacity: tuple[str, ...]

    @classmethod
    def from_api(cls, name: str, item: Mapping[str, Any]) -> InstanceType:
        kind = item["instance_type"]
        return cls(name=name, description=kind.get("description", ""),
                   gpu_description=kind.get("gpu_description", ""),
                   price_cents_per_hour=kind.get("price_cents_per_hour", 0), specs=dict(kind.get("specs", {})),
                   regions_with_capacity=tuple(r["name"] for r in item["regions_with_capacity_available"]))


@dataclass(frozen=True)
class Instance:
    id: str
    status: str
    name: str | None
    ip: str | None
    private_ip: str | None
    hostname: str | None
    region: str
    instance_type: str
    ssh_key_names: tuple[str, ...]
    file_system_names: tuple[str, ...]
    tags: Mapping[str, str]
    price_cents_per_hour: int = 0
    firewall_ruleset_ids: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Instance:
        return cls(
            id=d["id"], status=d["status"], name=d.get("name"), ip=d.get("ip"),
            private_ip=d.get("private_ip"), hostname=d.get("hostname"),
            region=d["region"]["name"], instance_type=d["instance_type"]["name"],
            ssh_key_names=tuple(d.get("ssh_key_names", ())),
            file_system_names=tuple(d.get("file_system_names", ())),
            tags={t["key"]: t["value"] for t in d.get("tags", ())},
            price_cents_per_hour=int(d["instance_type"].get("price_cents_per_hour") or 0),
            firewall_ruleset_ids=tuple(r["id"] for r in d.get("firewall_rulesets") or ()),
        )


@dataclass(frozen=True)
class SshKey:
    id: str
    name: str
    public_key: str
    private_key: str | None = field(default=None, repr=False)  # only when Lambda generated the pair


@dataclass(frozen=True)
class FirewallRule:
    protocol: str
    port_range: tuple[int, int] | None  # None for icmp, which has no ports
    source_network: str
    description: str

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> FirewallRule:
        ports = d.get("port_range")
        return cls(d["protocol"], (ports[0], ports[1]) if ports else None, d["source_network"],
                   d.get("description", ""))

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {"protocol": self.protocol, "source_network": self.source_network,
                                "description": self.description}
        if self.port_range is not None:
            body["port_range"] = list(self.port_range)
        return body


@dataclass(frozen=True)
class FirewallRuleset:
    """Inbound rules for the instances launched with it, in one region."""

    id: str
    name: str
    region: str
    rules: tuple[FirewallRule, ...]
    instance_ids: tuple[str, ...]

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> FirewallRuleset:
        return cls(d["id"], d["name"], d["region"]["name"], tuple(FirewallRule.from_api(r) for r in d.get("rules", ())),
                   tuple(d.get("instance_ids", ())))
