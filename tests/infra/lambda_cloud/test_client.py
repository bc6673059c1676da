"""LambdaClient against the emulator over real loopback HTTP."""

from __future__ import annotations

import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from infra.lambda_cloud import (
    AccountInactive,
    ApiUnavailable,
    FirewallRule,
    InsufficientCapacity,
    InvalidApiKey,
    InvalidInput,
    InvalidParameters,
    LambdaClient,
    NotFound,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    RetryPolicy,
    ServerError,
    UnexpectedResponse,
)
from tests.support.lambda_keys import CANARY, PUBLIC_KEY


def _launch(client, **overrides):
    if not any(k.name == "k" for k in client.list_ssh_keys()):
        client.add_ssh_key("k", PUBLIC_KEY)
    args = {"region_name": "us-east-1", "instance_type_name": "gpu_1x_a10", "ssh_key_names": ["k"], **overrides}
    return client.launch(**args)


def test_instance_types_report_regions_with_capacity(client):
    types = client.instance_types()
    assert types["gpu_1x_a10"].regions_with_capacity == ("us-east-1", "us-west-1")
    assert types["gpu_8x_h100_sxm5"].regions_with_capacity == ()
    assert types["gpu_1x_a10"].specs["gpus"] == 1


def test_instance_lifecycle(client, admin):
    [instance_id] = _launch(client, name="orchestra-backend", tags={"project": "orchestra"},
                            user_data="#cloud-config\n")
    booting = client.get_instance(instance_id)
    assert booting.status == "booting" and booting.ip is None  # no address before the VM is up
    admin.config(boot_seconds=0)
    assert [i.id for i in client.list_instances()] == [instance_id]
    renamed = client.rename(instance_id, "renamed")
    assert renamed.name == "renamed" and renamed.tags == {"project": "orchestra"}
    [gone] = client.terminate([instance_id])
    assert gone.status == "terminating"
    assert client.get_instance(instance_id).status == "terminated"
    assert client.list_instances() == []


def test_instance_becomes_active_after_boot_delay(client, admin):
    [instance_id] = _launch(client)
    admin.config(boot_seconds=0)  # boots already under way keep their own deadline...
    [record] = admin.state()["instances"].values()
    assert record["active_at"] > record["launched_at"]
    while client.get_instance(instance_id).status == "booting":  # ...of 0.2 s from launch
        time.sleep(0.02)
    active = client.get_instance(instance_id)
    assert (active.status, active.ip, active.hostname) == ("active", "127.0.0.1", f"lambda-{instance_id[:12]}")


def test_ssh_keys_uploaded_generated_listed_deleted(client):
    uploaded = client.add_ssh_key("mine", PUBLIC_KEY)
    assert uploaded.public_key == PUBLIC_KEY and uploaded.private_key is None
    generated = client.add_ssh_key("generated")
    assert generated.private_key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert "PRIVATE" not in repr(generated)
    assert {k.name for k in client.list_ssh_keys()} == {"mine", "generated"}
    client.delete_ssh_key(uploaded.id)
    assert [k.name for k in client.list_ssh_keys()] == ["generated"]
    with pytest.raises(InvalidParameters):  # the spec's answer to an unknown key id is 400
        client.delete_ssh_key(uploaded.id)


def test_firewall_rules_replace_the_whole_list(client):
    [ssh] = client.get_firewall_rules()
    assert ssh.port_range == (22, 22)
    web = FirewallRule("tcp", (8000, 8000), "0.0.0.0/0", "backend")
    ping = FirewallRule("icmp", None, "10.0.0.0/8", "ping")
    assert client.put_firewall_rules([ssh, web, ping]) == [ssh, web, ping]
    assert client.get_firewall_rules() == [ssh, web, ping]


def test_error_codes_become_typed_errors(client, admin):
    with pytest.raises(NotFound) as missing:
        client.get_instance("0" * 32)
    assert missing.value.code == "global/object-does-not-exist" and missing.value.status == 404
    with pytest.raises(InsufficientCapacity):
        _launch(client, instance_type_name="gpu_8x_h100_sxm5")
    admin.config(max_instances=0)
    with pytest.raises(QuotaExceeded):
        _launch(client)
    with pytest.raises(InvalidInput):
        client.get_instance("../ssh-keys")


def test_invalid_key_is_typed_and_never_echoed(emulator, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = CANARY + "-revoked"
    with LambdaClient(wrong, emulator.base_url, pace=False) as client:
        with pytest.raises(InvalidApiKey) as error:
            client.list_instances()
        assert wrong not in repr(client)
    assert error.value.status == 401 and error.value.code == "global/invalid-api-key"
    assert CANARY not in str(error.value) and CANARY not in repr(error.value)
    assert CANARY not in caplog.text


def test_inactive_account(client, admin):
    admin.config(inactive_keys=[CANARY])
    with pytest.raises(AccountInactive):
        client.list_ssh_keys()


def test_429_storm_is_ridden_out_by_honouring_retry_after(emulator, admin):
    # One request per 0.3 s; no backoff of its own: only waiting as Retry-After says succeeds.
    admin.config(rate_limit={"requests": 1, "per_seconds": 0.3})
    with LambdaClient(CANARY, emulator.base_url, pace=False,
                      retry=RetryPolicy(max_attempts=2, base_delay=0, max_delay=5)) as client:
        for _ in range(4):
            client.list_instances()
    statuses = [r["status"] for r in admin.requests()]
    assert statuses.count(429) == 3 and statuses.count(200) == 4


def test_429_after_the_last_attempt_raises_rate_limited(emulator, admin):
    admin.config(rate_limit={"requests": 1, "per_seconds": 60})
    with LambdaClient(CANARY, emulator.base_url, pace=False,
                      retry=RetryPolicy(max_attempts=3, base_delay=0, max_delay=0.01)) as client:
        client.list_instances()
        with pytest.raises(RateLimited) as error:
            client.list_instances()
    assert error.value.status == 429 and error.value.retry_after > 50
    assert [r["status"] for r in admin.requests()] == [200, 429, 429, 429]


def test_server_and_provider_errors_are_retried(client, admin):
    admin.config(fail_next={"count": 2, "kind": "internal"})
    assert client.list_instances() == []
    admin.config(fail_next={"count": 2, "kind": "provider", "path": "/api/v1/instance-operations/launch"})
    assert len(_launch(client)) == 1  # provider/* means not carried out: even a launch is retried
    admin.config(fail_next={"count": 3, "kind": "provider"})
    with pytest.raises(ProviderError) as error:
        client.list_instances()
    assert error.value.code == "provider/internal-unavailable"


def test_launch_is_not_repeated_after_a_500(client, admin):
    client.add_ssh_key("k", PUBLIC_KEY)
    admin.config(fail_next={"count": 1, "kind": "internal", "path": "/api/v1/instance-operations/launch"})
    with pytest.raises(ServerError):
        _launch(client)
    launches = [r for r in admin.requests() if r["path"].endswith("/launch")]
    assert len(launches) == 1


def test_unreachable_api_is_api_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        with LambdaClient(CANARY, f"http://127.0.0.1:{port}", pace=False,
                          retry=RetryPolicy(max_attempts=2, base_delay=0)) as client:
            with pytest.raises(ApiUnavailable) as error:
                client.list_instances()
    assert "GET /api/v1/instances" in str(error.value) and CANARY not in str(error.value)


class _ProxyPage(BaseHTTPRequestHandler):
    """A proxy in front of the API: an HTML page, 200 on one path, 502 on the others."""

    def do_GET(self):
        body = b"<html>portal</html>"
        self.send_response(200 if self.path == "/api/v1/ssh-keys" else 502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_replies_that_are_not_the_api_envelope():
    server = HTTPServer(("127.0.0.1", 0), _ProxyPage)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with LambdaClient(CANARY, f"http://127.0.0.1:{server.server_port}", pace=False,
                          retry=RetryPolicy(max_attempts=2, base_delay=0)) as client:
            with pytest.raises(UnexpectedResponse) as page:
                client.list_ssh_keys()
            with pytest.raises(ServerError) as gateway:  # a 5xx stays transient whatever its body
                client.list_instances()
    finally:
        server.shutdown()
        server.server_close()
    assert page.value.status == 200 and gateway.value.status == 502


def test_bad_construction_is_refused_without_echoing_the_key():
    with pytest.raises(InvalidInput):
        LambdaClient("", "https://cloud.lambda.ai")
    with pytest.raises(InvalidInput) as error:
        LambdaClient(CANARY, "cloud.lambda.ai")
    assert CANARY not in str(error.value)
