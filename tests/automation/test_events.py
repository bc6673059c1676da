"""Engine events to lines a person reads: per-resource diffs, in-flight elapsed time, one reason per failure."""

from __future__ import annotations

import io

from pulumi.automation import EngineEvent

from automation.events import EventView

URN = "urn:pulumi:local::orchestra::orchestra:lambda:Backend$pulumi-python:dynamic:Resource::backend-instance"
STACK_URN = "urn:pulumi:local::orchestra::pulumi:pulumi:Stack::orchestra-local"
CANARY = "secret_canary0002.CANARYneverINaDIFF0123456789"
SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "[secret]"}


def _state(**inputs) -> dict:
    return {"type": "pulumi-python:dynamic:Resource", "urn": URN, "id": "i-1", "parent": "", "provider": "",
            "custom": True, "delete": False, "protect": False, "retainOnDelete": False, "inputs": inputs, "outputs": inputs}


def _step(op: str, **extra) -> dict:
    return {"op": op, "urn": URN, "type": "pulumi-python:dynamic:Resource", "provider": "", **extra}


def _events(view, *payloads):
    for seq, payload in enumerate(payloads):
        view(EngineEvent.from_json({"sequence": seq, "timestamp": 0, **payload}))


def test_a_create_is_started_then_done_with_its_elapsed_time():
    out = io.StringIO()
    view = EventView(out=out)
    _events(view, {"resourcePreEvent": {"metadata": _step("create")}},
            {"resOutputsEvent": {"metadata": _step("create")}},
            {"summaryEvent": {"maybeCorrupt": False, "durationSeconds": 1, "resourceChanges": {"create": 1, "same": 2}}})
    started, done = out.getvalue().splitlines()
    assert started.split() == ["create", "backend-instance", "pulumi-python:dynamic:Resource", "started"]
    assert done.split()[:4] == ["create", "backend-instance", "pulumi-python:dynamic:Resource", "done"]
    assert done.endswith(" s)")
    assert view.changes == {"create": 1, "same": 2}
    assert [(r.name, r.op) for r in view.resources] == [("backend-instance", "create")]


def test_what_is_in_flight_is_listed_until_it_is_done():
    view = EventView(out=io.StringIO())
    _events(view, {"resourcePreEvent": {"metadata": _step("create")}})
    assert [line.split()[:2] for line in view.in_flight()] == [["create", "backend-instance"]]
    _events(view, {"resOutputsEvent": {"metadata": _step("create")}})
    assert view.in_flight() == []


def test_view_hides_unchanged_and_stack_resources():
    out = io.StringIO()
    view = EventView(out=out)
    stack = {"op": "create", "urn": STACK_URN, "type": "pulumi:pulumi:Stack", "provider": ""}
    _events(view, {"resOutputsEvent": {"metadata": _step("same")}}, {"resOutputsEvent": {"metadata": stack}})
    assert out.getvalue() == ""                    # no progress line for either
    assert [(r.name, r.op) for r in view.resources] == [("orchestra-local", "create")]   # but the stack is counted


def test_a_planned_update_names_its_changed_properties_like_pulumi():
    out = io.StringIO()
    view = EventView(out=out)
    meta = _step("update", diffs=["name", "tags"], detailedDiff={"name": {"diffKind": "update", "inputDiff": True},
                                                                  "tags": {"diffKind": "add", "inputDiff": True}},
                 old=_state(name="a", api_key=SECRET), new=_state(name="b", tags=["x"], api_key=SECRET))
    _events(view, {"resourcePreEvent": {"metadata": meta, "planning": True}})
    assert out.getvalue().rstrip().endswith("planned [diff: ~name +tags]")
    (change,) = view.resources
    assert [(p.name, p.kind) for p in change.properties] == [("name", "update"), ("tags", "add")]
    assert change.properties[0].old is None     # values only with --diff


def test_with_diff_old_and_new_values_are_shown_and_secrets_stay_hidden():
    out = io.StringIO()
    view = EventView(out=out, detail=True)
    meta = _step("update", diffs=["name", "api_key"], old=_state(name="a", api_key=SECRET),
                 new=_state(name="b", api_key=SECRET))
    _events(view, {"resourcePreEvent": {"metadata": meta, "planning": True}})
    text = out.getvalue()
    assert "~ name: 'a' => 'b'" in text and "~ api_key: '[secret]' => '[secret]'" in text
    assert CANARY not in text and "1b47061264138c4ac30d75fd1eb44270" not in text


def test_drift_found_by_a_refresh_is_shown_per_property():
    out = io.StringIO()
    view = EventView(out=out)
    meta = _step("refresh", diffs=["status"], old=_state(status="active"), new=_state(status="terminated"))
    _events(view, {"resOutputsEvent": {"metadata": meta}})
    assert "drifted" in out.getvalue() and "[diff: ~status]" in out.getvalue()


def test_failure_is_one_readable_line_without_stack_trace():
    view = EventView(out=io.StringIO())
    message = ("<{%fg 1%}>error: <{%reset%}>Exception: instance-operations/launch/insufficient-capacity: "
               "no capacity in us-east-1; capacity in: us-west-1\n"
               "goroutine 1 [running]:\n\tmain.go:12 +0x1\nTraceback (most recent call last):\n  File \"x.py\", line 1\n")
    _events(view, {"diagnosticEvent": {"message": message, "color": "raw", "severity": "error", "urn": URN}},
            {"diagnosticEvent": {"message": "error: update failed", "color": "raw", "severity": "error", "urn": STACK_URN}})
    assert view.failures["backend-instance"] == ("instance-operations/launch/insufficient-capacity: "
                                                 "no capacity in us-east-1; capacity in: us-west-1")
    assert view.failure_summary().startswith("backend-instance: instance-operations") and "\n" not in view.failure_summary()
    assert "update failed" not in view.failure_summary()


def test_a_live_view_rewrites_one_status_line_and_clears_it_before_other_lines():
    out = io.StringIO()
    view = EventView(out=out, live=True)
    _events(view, {"resourcePreEvent": {"metadata": _step("create")}})
    view.tick()
    assert out.getvalue().endswith("(0 s)") and "\r\x1b[K  … create backend-instance" in out.getvalue()
    _events(view, {"resOutputsEvent": {"metadata": _step("create")}})
    status_line, done_line = out.getvalue().split("\n")[-2].split("\r\x1b[K")[1:]
    assert status_line.startswith("  … create backend-instance")
    assert done_line.split()[:4] == ["create", "backend-instance", "pulumi-python:dynamic:Resource", "done"]


def test_a_change_the_provider_did_not_detail_is_diffed_from_the_inputs():
    out = io.StringIO()
    view = EventView(out=out)
    meta = _step("update", old=_state(name="a", region="x", __provider="p1"), new=_state(name="b", region="x", tags=["t"],
                                                                                       __provider="p2"))
    _events(view, {"resourcePreEvent": {"metadata": meta, "planning": True}})
    assert out.getvalue().rstrip().endswith("planned [diff: ~name +tags]")
