"""VercelFrontend: the project, its environment variables for production and preview, a domain."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumiverse_vercel as vercel

from infra.config import VERCEL_TARGETS, VercelSettings


class VercelFrontend(pulumi.ComponentResource):
    project_id: pulumi.Output[str]
    frontend_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: VercelSettings,
        *,
        token: pulumi.Output[str],
        secrets: Mapping[str, pulumi.Output[str]],
        backend_url: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("orchestra:infra:VercelFrontend", name, None, opts)
        provider = vercel.Provider(
            f"{name}-provider", api_token=pulumi.Output.secret(token), team=settings.team_id,
            opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)

        git = (vercel.ProjectGitRepositoryArgs(type="github", repo=settings.git_repository)
               if settings.git_repository else None)
        project = vercel.Project(
            f"{name}-project", name=settings.project_name, framework=settings.framework,
            root_directory=settings.root_directory, git_repository=git, opts=child)

        def env_var(key: str, value: pulumi.Input[str], *, sensitive: bool) -> None:
            # Vercel needs `sensitive` explicitly; a sensitive value cannot be read back.
            vercel.ProjectEnvironmentVariable(
                f"{name}-env-{key}", project_id=project.id, key=key, value=value,
                targets=list(VERCEL_TARGETS), sensitive=sensitive, opts=child)

        if backend_url is not None:
            env_var("BACKEND_URL", backend_url, sensitive=False)
        for key in settings.secret_names:
            env_var(key, pulumi.Output.secret(secrets[key]), sensitive=True)
        if settings.domain:
            vercel.ProjectDomain(f"{name}-domain", project_id=project.id, domain=settings.domain, opts=child)

        self.project_id = project.id
        self.frontend_url = pulumi.Output.from_input(settings.frontend_url)
        self.register_outputs({"project_id": self.project_id, "frontend_url": self.frontend_url})
