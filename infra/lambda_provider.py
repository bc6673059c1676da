"""Old path of the Lambda resource classes, kept importable: use infra.lambda_dynamic instead."""

from infra.lambda_dynamic.resources import LambdaFirewallRules, LambdaInstance, LambdaSshKey

__all__ = ["LambdaFirewallRules", "LambdaInstance", "LambdaSshKey"]
