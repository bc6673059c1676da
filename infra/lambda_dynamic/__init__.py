"""Lambda Cloud as Pulumi dynamic resources: the resource classes and their providers.

    resources.py         LambdaInstance, LambdaSshKey, LambdaFirewallRuleset, LambdaFirewallRules
    instance.py          InstanceProvider: check against /instance-types, diff, rename, terminate
    instance_launch.py   adopt by launch token or launch, look again after an ambiguous failure, boot wait
    ssh_key.py           SshKeyProvider
    firewall.py          FirewallRuleProvider (the account-wide rule list)
    firewall_ruleset.py  FirewallRulesetProvider (per-region rulesets attached at launch)
    common.py            client from the provider's environment, check/diff helpers

Provider classes are pickled into state by module path; infra.lambda_resources and
infra.lambda_provider re-export them for states written before this package existed.
"""

from infra.lambda_dynamic.firewall import FirewallRuleProvider
from infra.lambda_dynamic.firewall_ruleset import FirewallRulesetProvider
from infra.lambda_dynamic.instance import InstanceProvider
from infra.lambda_dynamic.resources import LambdaFirewallRules, LambdaFirewallRuleset, LambdaInstance, LambdaSshKey
from infra.lambda_dynamic.ssh_key import SshKeyProvider

__all__ = ["FirewallRuleProvider", "FirewallRulesetProvider", "InstanceProvider", "LambdaFirewallRules",
           "LambdaFirewallRuleset", "LambdaInstance", "LambdaSshKey", "SshKeyProvider"]
