"""GitHubCi: the keys CI needs as Actions secrets, and the deployed URLs as Actions variables.

With orchestra:github_environment set, both go to that environment (jobs that
declare it, behind its protection rules) instead of the whole repository. With
orchestra:github_manage_environment the stack manages the environment too
(`RepositoryEnvironment`, its protection from stack config) and a destroy deletes
it; without, it is left to the repository settings (its reviewers and rules stay
yours) and preflight checks that it exists (automation/access.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_github as github

from infra.config import ci_secret_name
from infra.services_config import EnvironmentProtection, GitHubSettings


class GitHubCi(pulumi.ComponentResource):
    secret_names: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        settings: GitHubSettings,
        *,
        token: pulumi.Output[str],
        secrets: Mapping[str, pulumi.Output[str]],
        variables: Mapping[str, pulumi.Input[str] | None],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("orchestra:infra:GitHubCi", name, None, opts)
        # An explicit provider: the token and owner come from this stack, never
        # from ambient GITHUB_TOKEN/GITHUB_OWNER in the environment.
        provider = github.Provider(
            f"{name}-provider", token=pulumi.Output.secret(token), owner=settings.owner,  # type: ignore[arg-type]
            base_url=settings.base_url, opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        repo = settings.repository
        env: pulumi.Input[str] | None = settings.environment
        if settings.manage_environment and settings.protection is not None:
            # Secrets and variables take the environment's name from the resource, so they wait for it.
            env = _environment(f"{name}-environment", repo, str(settings.environment), settings.protection, child)

        published = []
        for catalog_name in settings.secret_names:
            secret_name = ci_secret_name(catalog_name)
            value: pulumi.Output[str] = pulumi.Output.secret(secrets[catalog_name])
            if env:
                github.ActionsEnvironmentSecret(
                    f"{name}-secret-{secret_name}", repository=repo, environment=env,
                    secret_name=secret_name, value=value, opts=child)
            else:
                github.ActionsSecret(
                    f"{name}-secret-{secret_name}", repository=repo, secret_name=secret_name, value=value, opts=child)
            published.append(secret_name)

        for variable_name, plain in variables.items():
            if plain is None:
                continue
            if env:
                github.ActionsEnvironmentVariable(
                    f"{name}-variable-{variable_name}", repository=repo, environment=env,
                    variable_name=variable_name, value=plain, opts=child)
            else:
                github.ActionsVariable(
                    f"{name}-variable-{variable_name}", repository=repo, variable_name=variable_name,
                    value=plain, opts=child)

        self.secret_names = pulumi.Output.from_input(published)
        self.register_outputs({"secret_names": self.secret_names})


def _environment(name: str, repo: str, env: str, protection: EnvironmentProtection,
                 opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    reviewers = None
    if protection.reviewer_users or protection.reviewer_teams:
        reviewers = [github.RepositoryEnvironmentReviewerArgs(users=list(protection.reviewer_users),
                                                              teams=list(protection.reviewer_teams))]
    branches = None
    if protection.protected_branches_only:
        branches = github.RepositoryEnvironmentDeploymentBranchPolicyArgs(protected_branches=True,
                                                                          custom_branch_policies=False)
    resource = github.RepositoryEnvironment(
        name, repository=repo, environment=env, wait_timer=protection.wait_timer, reviewers=reviewers,
        prevent_self_review=protection.prevent_self_review, can_admins_bypass=protection.can_admins_bypass,
        deployment_branch_policy=branches, opts=opts)
    return resource.environment
