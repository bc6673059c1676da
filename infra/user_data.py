"""The cloud-init document that starts the backend on a fresh Lambda Cloud instance.

The backend is a container image that listens on $PORT and answers GET /health.
Its keys reach it through a root-only env file that docker reads (--env-file):
never a command line, where any user could read them in /proc/*/cmdline, and
never a shell string, where a quote in a key would break or inject.
A systemd unit keeps it running across crashes and reboots.
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

ENV_FILE = "/etc/orchestra/backend.env"
UNIT = "orchestra-backend.service"
CONTAINER = "orchestra-backend"


def _env_file(port: int, env: Mapping[str, str]) -> str:
    lines = [f"PORT={port}"]
    for name, value in env.items():
        # docker's env-file format has no quoting: one line per variable.
        if "\n" in value or "\r" in value:
            raise ValueError(f"{name} contains a line break and cannot go into an env file")
        lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


def _unit(image: str, port: int) -> str:
    return f"""[Unit]
Description=Orchestra backend ({image})
After=docker.service network-online.target
Requires=docker.service

[Service]
Restart=always
RestartSec=5
ExecStartPre=-/usr/bin/docker rm -f {CONTAINER}
ExecStart=/usr/bin/docker run --rm --name {CONTAINER} --gpus all --env-file {ENV_FILE} -p {port}:{port} {image}
ExecStop=/usr/bin/docker stop {CONTAINER}

[Install]
WantedBy=multi-user.target
"""


def render_user_data(*, image: str, port: int, env: Mapping[str, str]) -> str:
    """`#cloud-config` that writes the env file (0600) and the unit, then starts it."""
    document = {
        "write_files": [
            {"path": ENV_FILE, "owner": "root:root", "permissions": "0600", "content": _env_file(port, env)},
            {"path": f"/etc/systemd/system/{UNIT}", "owner": "root:root", "permissions": "0644",
             "content": _unit(image, port)},
        ],
        "runcmd": [
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", UNIT],
        ],
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=1_000_000)
