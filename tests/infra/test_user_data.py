"""The cloud-init that starts the backend: keys in a root-only file, never on a command line."""

from __future__ import annotations

import pytest
import yaml

from infra.user_data import ENV_FILE, UNIT, render_user_data

KEYS = {"OPENAI_API_KEY": "canary-openai-'quote\"$(x)", "PORTKEY_API_KEY": "canary-portkey"}


def _doc(**kw):
    text = render_user_data(image="ghcr.io/acme/backend:1", port=8123, env=KEYS, **kw)
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


def test_env_file_is_root_only_and_holds_port_and_keys_verbatim():
    files = {f["path"]: f for f in _doc()["write_files"]}
    env = files[ENV_FILE]
    assert env["permissions"] == "0600" and env["owner"] == "root:root"
    assert env["content"].splitlines() == ["PORT=8123", f"OPENAI_API_KEY={KEYS['OPENAI_API_KEY']}",
                                           "PORTKEY_API_KEY=canary-portkey"]


def test_unit_runs_the_image_on_the_port_with_keys_only_by_file():
    doc = _doc()
    unit = {f["path"]: f for f in doc["write_files"]}[f"/etc/systemd/system/{UNIT}"]["content"]
    start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert f"--env-file {ENV_FILE}" in start and "-p 8123:8123" in start and start.endswith(" ghcr.io/acme/backend:1")
    assert "Restart=always" in unit
    assert ["systemctl", "enable", "--now", UNIT] in doc["runcmd"]
    commands = unit + repr(doc["runcmd"])
    assert not any(value in commands for value in KEYS.values())


def test_a_key_with_a_line_break_is_refused_without_showing_it():
    with pytest.raises(ValueError) as exc:
        render_user_data(image="img", port=1, env={"OPENAI_API_KEY": "canary\nINJECTED=1"})
    assert "OPENAI_API_KEY" in str(exc.value) and "canary" not in str(exc.value)
