"""The Pulumi program: this stack's platform and its outputs (run by the root __main__.py)."""

import pulumi

from infra.components.platform import Platform
from infra.config import load_settings


def run() -> None:
    platform = Platform("orchestra", load_settings())
    pulumi.export("backend_url", platform.backend_url)
    pulumi.export("instance_id", platform.instance_id)
    pulumi.export("instance_ip", platform.instance_ip)
    pulumi.export("frontend_url", platform.frontend_url)
    pulumi.export("github_secret_names", platform.github_secret_names)
