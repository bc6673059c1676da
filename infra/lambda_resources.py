"""Old path of the Lambda dynamic providers, kept importable: stack states written before issue 9
pickled the provider classes as infra.lambda_resources.*, and the engine unpickles them from there
until the stack has been updated once. New code imports infra.lambda_dynamic."""

from infra.lambda_dynamic.common import PROVIDER_KEY, client_from_env
from infra.lambda_dynamic.firewall import FirewallRuleProvider
from infra.lambda_dynamic.instance import InstanceProvider
from infra.lambda_dynamic.ssh_key import SshKeyProvider

__all__ = ["PROVIDER_KEY", "FirewallRuleProvider", "InstanceProvider", "SshKeyProvider", "client_from_env"]
