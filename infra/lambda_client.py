"""Old path of the Lambda Cloud client, kept importable: use infra.lambda_cloud instead."""

from infra.lambda_cloud.catalog import DEFAULT_API_URL as DEFAULT_BASE_URL
from infra.lambda_cloud.catalog import LAUNCH_PATH
from infra.lambda_cloud.client import LambdaClient, Pacing, RetryPolicy
from infra.lambda_cloud.models import FirewallRule, Instance, InstanceType, SshKey

__all__ = ["DEFAULT_BASE_URL", "LAUNCH_PATH", "FirewallRule", "Instance", "InstanceType", "LambdaClient", "Pacing",
           "RetryPolicy", "SshKey"]
