"""LambdaFirewallRuleset's provider: a per-region ruleset attached to the instances launched with it.

Unlike the account-wide rule list (firewall.py), a ruleset opens its ports only on the instances it
is attached to at launch. Rulesets live in one region and do not exist where firewall rules do not
apply (REGIONS_WITHOUT_FIREWALL): check() refuses those regions. A rule edited out of band shows as
drift on refresh, and the next `up` writes the declared rules back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from infra.lambda_cloud import DEFAULT_API_URL, REGION_CODES, REGIONS_WITHOUT_FIREWALL, FirewallRule, FirewallRuleset, NotFound
from infra.lambda_cloud.catalog import MAX_NAME
from infra.lambda_dynamic.common import check_inputs, client_from_env, diff_inputs, inputs_of, known
from infra.lambda_dynamic.firewall import rule_problems

RULESET_DEFAULTS: dict[str, Any] = {"api_url": DEFAULT_API_URL}


def _problems(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    name, region, rules = props.get("name"), props.get("region"), props.get("rules")
    if known(name) and not (isinstance(name, str) and 1 <= len(name) <= MAX_NAME):
        yield "name", f"name must be a string of 1 to {MAX_NAME} characters"
    if known(region) and region not in REGION_CODES:
        yield "region", f"region {region!r} is not a Lambda region"
    elif known(region) and region in REGIONS_WITHOUT_FIREWALL:
        yield "region", f"firewall rules do not apply in {region} (the API's rule): no ruleset can guard an instance there"
    if not known(rules):
        return
    if not (isinstance(rules, list) and rules and all(isinstance(r, Mapping) for r in rules)):
        yield "rules", "rules must be a non-empty list of {protocol, port, source_network, description}"
    else:
        for i, rule in enumerate(rules):
            for prop, reason in rule_problems({"protocol": "tcp", "source_network": "0.0.0.0/0", "description": "", **rule}):
                yield "rules", f"rules[{i}].{prop}: {reason}"


def _to_api(rule: Mapping[str, Any]) -> FirewallRule:
    port = int(rule["port"])
    return FirewallRule(rule.get("protocol") or "tcp", (port, port), rule.get("source_network") or "0.0.0.0/0",
                        rule.get("description") or "")


def _declared(props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rules as state holds them: every field present, ports as integers."""
    return [{"protocol": r.protocol, "port": r.port_range[0] if r.port_range else None,
             "source_network": r.source_network, "description": r.description}
            for r in (_to_api(rule) for rule in props["rules"])]


def _observed(ruleset: FirewallRuleset) -> list[dict[str, Any]]:
    return [{"protocol": r.protocol,
             "port": (r.port_range[0] if r.port_range and r.port_range[0] == r.port_range[1] else list(r.port_range or ())),
             "source_network": r.source_network, "description": r.description} for r in ruleset.rules]


class FirewallRulesetProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        result = check_inputs(news, RULESET_DEFAULTS, _problems)
        if not result.failures and known(result.inputs.get("rules")):
            result = CheckResult({**result.inputs, "rules": _declared(result.inputs)}, [])
        return result

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return diff_inputs(olds, news, ("region",), ("name", "rules", "api_key", "api_url"))

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = inputs_of(props)
        with client_from_env(props) as client:
            ruleset = client.create_firewall_ruleset(inputs["name"], inputs["region"], [_to_api(r) for r in inputs["rules"]])
        return CreateResult(ruleset.id, inputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with client_from_env(props) as client:
            try:
                ruleset = client.get_firewall_ruleset(id_)
            except NotFound:
                return ReadResult("", {})
        return ReadResult(id_, {**inputs_of(props), "name": ruleset.name, "region": ruleset.region,
                                "rules": _observed(ruleset)})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if (olds.get("name"), olds.get("rules")) != (news.get("name"), news.get("rules")):
            with client_from_env(news) as client:
                client.update_firewall_ruleset(id_, name=news["name"], rules=[_to_api(r) for r in news["rules"]])
        return UpdateResult(inputs_of(news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with client_from_env(props) as client:
            try:
                client.delete_firewall_ruleset(id_)
            except NotFound:
                return  # already gone is what delete wants
