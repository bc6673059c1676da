"""Platform: the backend, the frontend and CI for one stack, each present only when enabled."""

from __future__ import annotations

import pulumi

from infra.components.github_ci import GitHubCi
from infra.components.lambda_backend import LambdaBackend
from infra.components.vercel_frontend import VercelFrontend
from infra.config import StackSettings
from infra.needed_keys import APP_KEYS


class Platform(pulumi.ComponentResource):
    """Outputs are None (github_secret_names: empty) for a disabled part, unless config supplies
    the URL: backend_url_override, frontend_url."""

    backend_url: pulumi.Output[str | None]
    instance_id: pulumi.Output[str | None]
    instance_ip: pulumi.Output[str | None]
    frontend_url: pulumi.Output[str | None]
    github_secret_names: pulumi.Output[list[str]]

    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("orchestra:infra:Platform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        secrets = settings.secrets
        none = pulumi.Output.from_input(None)

        backend_url: pulumi.Input[str] | None = settings.backend_url_override
        self.instance_id = self.instance_ip = none
        if settings.lambda_:
            app_env = {key: secrets[key] for key in APP_KEYS}
            backend = LambdaBackend(f"{name}-backend", settings.lambda_, api_key=secrets["LAMBDA_API_KEY"],
                                    app_env=app_env, opts=child)
            backend_url = backend_url or backend.backend_url
            self.instance_id, self.instance_ip = backend.instance_id, backend.ip

        frontend_url: pulumi.Input[str] | None = settings.frontend_url
        if settings.vercel:
            frontend = VercelFrontend(f"{name}-frontend", settings.vercel, token=secrets["VERCEL_TOKEN"],
                                      secrets=secrets, backend_url=backend_url, opts=child)
            frontend_url = frontend.frontend_url or frontend_url

        self.github_secret_names = pulumi.Output.from_input([])
        if settings.github:
            ci = GitHubCi(f"{name}-ci", settings.github, token=secrets["GITHUB_TOKEN"], secrets=secrets,
                          variables={"BACKEND_URL": backend_url, "FRONTEND_URL": frontend_url}, opts=child)
            self.github_secret_names = ci.secret_names

        self.backend_url = pulumi.Output.from_input(backend_url)
        self.frontend_url = pulumi.Output.from_input(frontend_url)
        self.register_outputs({
            "backend_url": self.backend_url, "instance_id": self.instance_id, "instance_ip": self.instance_ip,
            "frontend_url": self.frontend_url, "github_secret_names": self.github_secret_names,
        })
