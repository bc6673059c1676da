"""What Lambda Cloud offers and requires, by its public contract (OpenAPI 1.8.3), in one place.

Regions, known instance types, the default API URL and the console pages, the API's paths, the
instance statuses that are billed or gone, and the rules for tags, names and SSH public keys.
The program's config (infra/config.py), the dynamic providers, the emulator, the health check
and the live key check all read these; nothing else spells them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

DEFAULT_API_URL = "https://cloud.lambda.ai"
CONSOLE_URL = "https://cloud.lambda.ai"
API_KEYS_CONSOLE_URL = f"{CONSOLE_URL}/api-keys"
INSTANCES_CONSOLE_URL = f"{CONSOLE_URL}/instances"

# PublicRegionCode -> the description the API gives it.
REGIONS: Mapping[str, str] = {
    "europe-central-1": "Germany", "asia-south-1": "India", "australia-east-1": "Australia",
    "me-west-1": "Israel", "asia-northeast-1": "Japan", "asia-northeast-2": "South Korea",
    "us-east-1": "Virginia, USA", "us-west-2": "Arizona, USA", "us-west-1": "California, USA",
    "us-south-1": "Texas, USA", "us-west-3": "Utah, USA", "us-midwest-1": "Illinois, USA",
    "us-east-2": "Washington DC, USA", "us-south-2": "North Texas, USA", "us-south-3": "Central Texas, USA",
    "us-east-3": "Virginia, USA", "us-midwest-2": "Ohio, USA",
}
REGION_CODES: tuple[str, ...] = tuple(sorted(REGIONS))
# The spec: "firewall rules do not apply to instances in the us-south-1 region".
REGIONS_WITHOUT_FIREWALL: frozenset[str] = frozenset({"us-south-1"})

# Instance types Lambda Cloud lists; the API has no enum, /instance-types is the live answer.
INSTANCE_TYPES: tuple[str, ...] = (
    "gpu_1x_a10", "gpu_1x_a100", "gpu_1x_a100_sxm4", "gpu_1x_a6000", "gpu_1x_gh200",
    "gpu_1x_h100_pcie", "gpu_1x_h100_sxm5", "gpu_1x_rtx6000",
    "gpu_2x_a100", "gpu_2x_a6000", "gpu_2x_h100_sxm5",
    "gpu_4x_a100", "gpu_4x_a6000", "gpu_4x_h100_sxm5",
    "gpu_8x_a100", "gpu_8x_a100_80gb_sxm4", "gpu_8x_h100_sxm5", "gpu_8x_v100", "gpu_8x_b200_sxm6",
)

# Instance statuses: live ones are billed (unhealthy too, until terminated); gone ones never return.
LIVE_STATUSES: frozenset[str] = frozenset({"booting", "active", "unhealthy"})
GONE_STATUSES: frozenset[str] = frozenset({"terminating", "terminated", "preempted"})

INSTANCE_TYPES_PATH = "/api/v1/instance-types"
INSTANCES_PATH = "/api/v1/instances"
LAUNCH_PATH = "/api/v1/instance-operations/launch"
TERMINATE_PATH = "/api/v1/instance-operations/terminate"
SSH_KEYS_PATH = "/api/v1/ssh-keys"
FIREWALL_RULES_PATH = "/api/v1/firewall-rules"
FIREWALL_RULESETS_PATH = "/api/v1/firewall-rulesets"


def segment(value: str) -> str:
    """An id as one path segment; refuses ids that would change the path."""
    from infra.lambda_cloud.errors import InvalidInput

    if not isinstance(value, str) or not value or any(c in value for c in "/?#%") or value in (".", ".."):
        raise InvalidInput(f"not a valid Lambda object id: {value!r}")
    return value


def instance_path(instance_id: str) -> str:
    return f"{INSTANCES_PATH}/{segment(instance_id)}"


def ssh_key_path(key_id: str) -> str:
    return f"{SSH_KEYS_PATH}/{segment(key_id)}"


def firewall_ruleset_path(ruleset_id: str) -> str:
    return f"{FIREWALL_RULESETS_PATH}/{segment(ruleset_id)}"


def api_url(base_url: str, path: str) -> str:
    """`base_url` (the default, a proxy or an emulator) joined with one of the paths above."""
    return base_url.rstrip("/") + path


def auth_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}


TAG_KEY = re.compile(r"^[a-z][a-z0-9-:]+$")
PUBLIC_KEY = re.compile(r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-\S+) [A-Za-z0-9+/=]+( .*)?$")
MAX_NAME = 64
MAX_TAG_KEY, MAX_TAG_VALUE = 55, 128
MAX_USER_DATA = 1024 * 1024
MAX_PUBLIC_KEY = 4096


def is_public_key(text: Any) -> bool:
    """An OpenSSH public key line ('ssh-ed25519 AAAA... comment') the API accepts."""
    return isinstance(text, str) and len(text) <= MAX_PUBLIC_KEY and bool(PUBLIC_KEY.match(text.strip()))


def tag_problems(tags: Mapping[Any, Any]) -> Iterator[str]:
    """One line per tag the API would refuse."""
    for key, value in tags.items():
        if not (isinstance(key, str) and len(key) <= MAX_TAG_KEY and TAG_KEY.match(key)):
            yield f"tag key {key!r} must match [a-z][a-z0-9-:]+ and be at most {MAX_TAG_KEY} characters"
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            yield f"tag {key!r} needs a string value of at most {MAX_TAG_VALUE} characters"
