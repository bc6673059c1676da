"""The Pulumi program (Pulumi.yaml: `main: infra/`): this stack's platform and its outputs."""

import sys
from pathlib import Path

# The language host runs this directory with runpy from inside it, so sys.path
# starts with infra/ itself. Put the project root there instead: `infra` and
# `secrets_bridge` then import as packages even without an editable install,
# and infra's modules (config, user_data) never shadow top-level names.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

import pulumi  # noqa: E402

from infra.components.platform import Platform  # noqa: E402
from infra.config import load_settings  # noqa: E402

platform = Platform("orchestra", load_settings())

pulumi.export("backend_url", platform.backend_url)
pulumi.export("instance_id", platform.instance_id)
pulumi.export("instance_ip", platform.instance_ip)
pulumi.export("frontend_url", platform.frontend_url)
pulumi.export("github_secret_names", platform.github_secret_names)
