"""The emulated API's firewall rulesets: per-region rule lists attached to instances at launch."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from automation.sandbox.lambda_rules import ApiError, invalid, not_found, object_body, validate_rule
from infra.lambda_cloud.catalog import LIVE_STATUSES, MAX_NAME, REGIONS

if TYPE_CHECKING:
    from automation.sandbox.lambda_api import Emulator


def _users(emulator: Emulator, ruleset_id: str) -> list[str]:
    return [r["id"] for r in emulator.state["instances"].values()
            if r["status"] in LIVE_STATUSES and ruleset_id in r.get("firewall_ruleset_ids", ())]


def _json(emulator: Emulator, record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "region": {"name": record["region"], "description": REGIONS[record["region"]]},
            "instance_ids": _users(emulator, record["id"])}


def _rules(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise invalid("rules must be a list of firewall rules")
    return [validate_rule(r) for r in value]


def _name(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_NAME:
        raise invalid(f"name must be a string of at most {MAX_NAME} characters")
    return value


def _get(emulator: Emulator, ruleset_id: str) -> dict[str, Any]:
    record = emulator.state.setdefault("firewall_rulesets", {}).get(ruleset_id)
    if record is None:
        raise not_found("firewall ruleset")
    return record


def list_rulesets(emulator: Emulator, _body: Any) -> list[dict[str, Any]]:
    return [_json(emulator, r) for r in emulator.state.setdefault("firewall_rulesets", {}).values()]


def create_ruleset(emulator: Emulator, body: Any) -> dict[str, Any]:
    request = object_body(body)
    region = request.get("region")
    if not isinstance(region, str) or region not in REGIONS:
        raise invalid(f"region {region!r} is not a Lambda region")
    record = {"id": secrets.token_hex(16), "name": _name(request.get("name")), "region": region,
              "rules": _rules(request.get("rules")), "created": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
    emulator.state.setdefault("firewall_rulesets", {})[record["id"]] = record
    emulator.save()
    return _json(emulator, record)


def get_ruleset(emulator: Emulator, _body: Any, ruleset_id: str) -> dict[str, Any]:
    return _json(emulator, _get(emulator, ruleset_id))


def patch_ruleset(emulator: Emulator, body: Any, ruleset_id: str) -> dict[str, Any]:
    record, request = _get(emulator, ruleset_id), object_body(body)
    if "name" in request:
        record["name"] = _name(request["name"])
    if "rules" in request:
        record["rules"] = _rules(request["rules"])
    emulator.save()
    return _json(emulator, record)


def delete_ruleset(emulator: Emulator, _body: Any, ruleset_id: str) -> dict[str, Any]:
    _get(emulator, ruleset_id)
    if _users(emulator, ruleset_id):
        raise ApiError(400, "firewall-rulesets/firewall-ruleset-in-use", "Firewall ruleset is in use by one or more instances.",
                       "Terminate all instances that are using the ruleset before deleting it.")
    del emulator.state["firewall_rulesets"][ruleset_id]
    emulator.save()
    return {}


def launch_rulesets(emulator: Emulator, request: dict[str, Any], region: str) -> list[str]:
    """The ruleset ids a launch request names; each must exist in the launch's region."""
    entries = request.get("firewall_rulesets", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("id"), str) for e in entries):
        raise invalid("firewall_rulesets must be a list of {id}")
    for entry in entries:
        if _get(emulator, entry["id"])["region"] != region:
            raise invalid(f"firewall ruleset {entry['id']} is not in region {region}")
    return [e["id"] for e in entries]
