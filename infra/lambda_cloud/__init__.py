"""Lambda Cloud, in one place: the API client, its errors, the catalog of regions and instance
types, the API's URLs and rules, and the look-ups that find this project's instances.

Imports no pulumi: the key store's live check (secrets_bridge) and the driver's health check
(automation) use it as well as the dynamic providers (infra.lambda_dynamic).
"""

from infra.lambda_cloud.catalog import (
    API_KEYS_CONSOLE_URL,
    DEFAULT_API_URL,
    GONE_STATUSES,
    INSTANCE_TYPES,
    INSTANCES_CONSOLE_URL,
    LIVE_STATUSES,
    REGION_CODES,
    REGIONS,
    REGIONS_WITHOUT_FIREWALL,
)
from infra.lambda_cloud.client import LambdaClient, Pacing, RetryPolicy
from infra.lambda_cloud.errors import (
    AccountInactive,
    ApiUnavailable,
    Duplicate,
    FileSystemInWrongRegion,
    InstanceNotActive,
    InstanceUnhealthy,
    InsufficientCapacity,
    InvalidApiKey,
    InvalidBillingAddress,
    InvalidInput,
    InvalidParameters,
    LambdaError,
    LaunchReplyWithoutId,
    NotFound,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    ResourceInUse,
    ServerError,
    UnexpectedResponse,
)
from infra.lambda_cloud.models import FirewallRule, FirewallRuleset, Instance, InstanceType, SshKey

__all__ = [
    "API_KEYS_CONSOLE_URL", "DEFAULT_API_URL", "GONE_STATUSES", "INSTANCE_TYPES", "INSTANCES_CONSOLE_URL",
    "LIVE_STATUSES", "REGION_CODES", "REGIONS", "REGIONS_WITHOUT_FIREWALL",
    "LambdaClient", "Pacing", "RetryPolicy",
    "FirewallRule", "FirewallRuleset", "Instance", "InstanceType", "SshKey",
    "AccountInactive", "ApiUnavailable", "Duplicate", "FileSystemInWrongRegion", "InstanceNotActive", "InstanceUnhealthy",
    "InsufficientCapacity", "InvalidApiKey", "InvalidBillingAddress", "InvalidInput", "InvalidParameters",
    "LambdaError", "LaunchReplyWithoutId", "NotFound", "ProviderError", "QuotaExceeded", "RateLimited",
    "ResourceInUse", "ServerError", "UnexpectedResponse",
]
