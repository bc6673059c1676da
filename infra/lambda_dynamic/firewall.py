"""LambdaFirewallRules' provider: one inbound rule inside the account's rule list.

A rule is identified by protocol, port range and source network; its description is a label, so a
rule another tool relabelled is still found, and destroy removes exactly the rule the stack added
(never one that was there before it: `pre_existing`). The rules do not apply in
REGIONS_WITHOUT_FIREWALL (the LambdaBackend component warns).
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult
from pulumi.runtime.rpc import UNKNOWN

from infra.lambda_cloud import DEFAULT_API_URL, FirewallRule
from infra.lambda_dynamic.common import check_inputs, client_from_env, diff_inputs, inputs_of, known

# Firewall rules are one list replaced whole; resources in one deployment share this process.
_FIREWALL_LOCK = threading.Lock()

FIREWALL_DEFAULTS: dict[str, Any] = {"api_url": DEFAULT_API_URL, "protocol": "tcp",
                                     "source_network": "0.0.0.0/0"}


def rule_problems(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """One inbound rule's problems: port, protocol, source network, description."""
    port, protocol = props.get("port"), props.get("protocol")
    if known(port) and (isinstance(port, bool) or not isinstance(port, (int, float)) or int(port) != port
                         or not 1 <= port <= 65535):
        yield "port", f"port must be an integer from 1 to 65535, got {port!r}"
    if known(protocol) and protocol not in ("tcp", "udp", "all"):
        yield "protocol", f"protocol must be tcp, udp or all (icmp has no port), got {protocol!r}"
    source = props.get("source_network")
    if known(source):
        try:
            ipaddress.IPv4Network(source, strict=False)
        except (ValueError, TypeError):
            yield "source_network", f"source_network must be an IPv4 address or CIDR block, got {source!r}"
    description = props.get("description")
    if known(description) and not (isinstance(description, str) and len(description) <= 128):
        yield "description", "description must be a string of at most 128 characters"


def _rule(props: Mapping[str, Any]) -> FirewallRule:
    port = int(props["port"])
    return FirewallRule(props["protocol"], (port, port), props["source_network"], props["description"])


def _same_rule(a: FirewallRule, b: FirewallRule) -> bool:
    def network(value: str) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(value, strict=False)
    return (a.protocol, a.port_range) == (b.protocol, b.port_range) and network(a.source_network) == network(b.source_network)


def _index(rules: list[FirewallRule], ours: FirewallRule) -> int | None:
    return next((i for i, r in enumerate(rules) if _same_rule(r, ours)), None)


class FirewallRuleProvider(ResourceProvider):
    """One inbound rule inside the account's rule list; every other rule is kept as it is."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        news = dict(news)
        if news.get("description") is None:
            protocol, port = news.get("protocol") or "tcp", news.get("port")
            news["description"] = f"orchestra: {protocol} port {int(port)}" if known([protocol, port]) and \
                isinstance(port, (int, float)) else UNKNOWN
        return check_inputs(news, FIREWALL_DEFAULTS, rule_problems)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return diff_inputs(olds, news, ("port", "protocol", "source_network"), ("description", "api_key", "api_url"))

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs, ours = inputs_of(props), _rule(props)
        with _FIREWALL_LOCK, client_from_env(props) as client:
            rules = client.get_firewall_rules()
            pre_existing = any(_same_rule(r, ours) for r in rules)
            if not pre_existing:
                client.put_firewall_rules([*rules, ours])
        rule_id = f"{ours.protocol}:{int(props['port'])}:{ipaddress.IPv4Network(ours.source_network, strict=False)}"
        # A rule that was there before is not ours to delete later.
        return CreateResult(rule_id, {**inputs, "pre_existing": pre_existing})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with client_from_env(props) as client:
            present = any(_same_rule(r, _rule(props)) for r in client.get_firewall_rules())
        return ReadResult(id_, inputs_of(props)) if present else ReadResult("", {})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        pre_existing = bool(olds.get("pre_existing", False))
        if not pre_existing and olds.get("description") != news.get("description"):
            ours = _rule(news)
            with _FIREWALL_LOCK, client_from_env(news) as client:
                rules = client.get_firewall_rules()
                index = _index(rules, ours)
                if index is not None:  # relabel our rule; the list is written whole
                    client.put_firewall_rules([*rules[:index], ours, *rules[index + 1:]])
        return UpdateResult({**inputs_of(news), "pre_existing": pre_existing})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if props.get("pre_existing"):
            return
        ours = _rule(props)
        with _FIREWALL_LOCK, client_from_env(props) as client:
            rules = client.get_firewall_rules()
            index = _index(rules, ours)
            if index is not None:
                client.put_firewall_rules(rules[:index] + rules[index + 1:])
