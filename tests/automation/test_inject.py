"""inject: only keys whose value changed are written to the stack config."""

from __future__ import annotations

from automation import inject
from secrets_bridge.catalog import get_spec

CANARY = "secret_canary0001.CANARYvalueNEVERshownANYWHERE"

def test_plan_sets_only_changed_keys():
    lam, oai, pk = get_spec("LAMBDA_API_KEY"), get_spec("OPENAI_API_KEY"), get_spec("PORTKEY_API_KEY")
    current = {"orchestra:lambda_api_key": CANARY, "orchestra:openai_api_key": "sk-old"}
    to_set, same = inject.plan(current, {lam: CANARY, oai: "sk-new", pk: "pk"})
    assert [s.name for s in to_set] == ["OPENAI_API_KEY", "PORTKEY_API_KEY"]
    assert [s.name for s in same] == ["LAMBDA_API_KEY"]


def test_plan_with_nothing_changed_sets_nothing():
    lam = get_spec("LAMBDA_API_KEY")
    assert inject.plan({"orchestra:lambda_api_key": CANARY}, {lam: CANARY}) == ([], [lam])
