"""VercelFrontend: the project, its environment variables, the backend rewrite, a production deployment.

The frontend follows the backend: a production deployment of the production branch
is a resource whose `meta` records BACKEND_URL and a digest of the other variables
the project sets, so when any of them changes (a replaced instance has a new IP, a
rotated key) `up` replaces it, i.e. Vercel builds and promotes a new production
deployment. Without a git repository there is nothing to build from, so no
deployment is made and the platform falls back to orchestra:frontend_url.

frontend_url is read from Vercel: the custom domain once Vercel has it, else the
production deployment's own domain (Vercel picks <name>.vercel.app or, when taken,
another name), else its unique URL.

Mixed content: BACKEND_URL is http://IP:PORT, which a browser on the https frontend
refuses to call. A project route rewrites /api/* on the frontend's own origin to
the backend, so the browser only ever talks https to Vercel.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumiverse_vercel as vercel

from infra.config import VERCEL_TARGETS
from infra.services_config import VercelSettings


def env_digest(values: Mapping[str, str]) -> str:
    """A short digest of the variables, so a change shows in the deployment's meta without the values."""
    return hashlib.sha256(json.dumps(dict(sorted(values.items()))).encode()).hexdigest()[:16]


def production_url(domains: Sequence[str] | None, url: str | None) -> str | None:
    """The production domain among a deployment's domains: the shortest *.vercel.app that is not a
    per-branch alias; otherwise the deployment's unique URL."""
    candidates = sorted((d for d in domains or () if d.endswith(".vercel.app") and "-git-" not in d), key=len)
    chosen = candidates[0] if candidates else url
    if not chosen:
        return None
    return chosen if chosen.startswith("https://") else f"https://{chosen}"


class VercelFrontend(pulumi.ComponentResource):
    project_id: pulumi.Output[str]
    frontend_url: pulumi.Output[str] | None   # None: nothing deployed, no domain

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
            f"{name}-provider", api_token=pulumi.Output.secret(token), team=settings.team_id,  # type: ignore[arg-type]
            opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=provider)

        git = (vercel.ProjectGitRepositoryArgs(type="github", repo=settings.git_repository,
                                               production_branch=settings.production_branch)
               if settings.git_repository else None)
        project = vercel.Project(
            f"{name}-project", name=settings.project_name, framework=settings.framework,
            root_directory=settings.root_directory, git_repository=git, build_command=settings.build_command,
            install_command=settings.install_command, output_directory=settings.output_directory,
            node_version=settings.node_version, opts=child)

        made: list[pulumi.Resource] = []
        values: dict[str, pulumi.Input[str]] = {}

        def env_var(key: str, value: pulumi.Input[str], *, sensitive: bool) -> None:
            # Vercel needs `sensitive` explicitly; a sensitive value cannot be read back.
            made.append(vercel.ProjectEnvironmentVariable(
                f"{name}-env-{key}", project_id=project.id, key=key, value=value,
                targets=list(VERCEL_TARGETS), sensitive=sensitive, opts=child))
            values[key] = value

        if backend_url is not None:
            env_var("BACKEND_URL", backend_url, sensitive=False)
            if settings.backend_rewrite:
                made.append(self._rewrite(name, project, settings.backend_rewrite, backend_url, child))
        for key in settings.secret_names:
            env_var(key, pulumi.Output.secret(secrets[key]), sensitive=True)
        domain = None
        if settings.domain:
            domain = vercel.ProjectDomain(f"{name}-domain", project_id=project.id, domain=settings.domain, opts=child)
            made.append(domain)   # the production deployment then gets the domain as its alias

        url: pulumi.Output[str] | None = None
        if settings.git_repository:
            deployment = self._deployment(name, project, settings, backend_url, values, made, provider)
            url = pulumi.Output.all(deployment.domains, deployment.url).apply(
                lambda du: production_url(du[0], du[1]) or "")
        if domain is not None:
            url = domain.domain.apply(lambda d: f"https://{d}")

        self.project_id = project.id
        self.frontend_url = url
        self.register_outputs({"project_id": self.project_id, "frontend_url": url})

    def _rewrite(self, name: str, project: vercel.Project, prefix: str, backend_url: pulumi.Input[str],
                 opts: pulumi.ResourceOptions) -> vercel.ProjectRoute:
        dest = pulumi.Output.from_input(backend_url).apply(lambda u: f"{u.rstrip('/')}/$1")
        return vercel.ProjectRoute(
            f"{name}-backend-rewrite", project_id=project.id, name="orchestra backend",
            description=f"{prefix}/* on the frontend's origin goes to the backend (no mixed content)",
            route=vercel.ProjectRouteRouteArgs(src=f"^{prefix}/(.*)$", dest=dest), opts=opts)

    def _deployment(self, name: str, project: vercel.Project, settings: VercelSettings,
                    backend_url: pulumi.Input[str] | None, values: Mapping[str, pulumi.Input[str]],
                    made: list[pulumi.Resource], provider: vercel.Provider) -> vercel.Deployment:
        digest = pulumi.Output.all(**values).apply(env_digest)
        meta: dict[str, pulumi.Input[str]] = {"orchestra_env_digest": digest}
        if backend_url is not None:
            meta["orchestra_backend_url"] = backend_url
        return vercel.Deployment(
            f"{name}-production", project_id=project.id, ref=settings.production_branch, production=True,
            meta=meta,
            # A deployment is immutable: a changed meta is a new one, built before the old one goes.
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=made,
                                        replace_on_changes=["meta"], delete_before_replace=False))
