"""A script written for the system this replaces runs after changing only its import line."""

from __future__ import annotations

import subprocess
import sys

from secrets_bridge.catalog import CATALOG
from tests.support.secrets_project import CANARIES, assert_no_canary
from tests.support.verify_apis import fake_apis

OLD_SCRIPT = """\
from security.enhanced_secret_manager import EnhancedSecretManager

manager = EnhancedSecretManager()
manager.set_local_secret("LAMBDA_API_KEY", {lambda_key!r})
key = manager.get_secret("LAMBDA_API_KEY")
print("lambda key present:", key is not None and key.startswith("secret_"))
print("openai from env:", manager.get_secret("OPENAI_API_KEY") is not None)
results = manager.test_api_connections()
for service, ok in sorted(results.items()):
    print(service, "OK" if ok else "FAILED")
"""
URL_ENV = {"lambda_cloud": "ORCHESTRA_LAMBDA_API_URL", "github": "ORCHESTRA_GITHUB_API_URL",
           "vercel": "ORCHESTRA_VERCEL_API_URL", "openai": "ORCHESTRA_OPENAI_API_URL",
           "portkey": "ORCHESTRA_PORTKEY_API_URL"}


def test_an_old_script_runs_with_only_its_import_changed(project):
    script = OLD_SCRIPT.format(lambda_key=CANARIES["LAMBDA_API_KEY"]).replace(
        "from security.enhanced_secret_manager import EnhancedSecretManager",
        "from secrets_bridge import EnhancedSecretManager")
    assert script.count("\n") == OLD_SCRIPT.count("\n")  # one line changed, nothing added
    project.empty_store()
    env = {**project.env, **{name: value for name, value in CANARIES.items() if name != "LAMBDA_API_KEY"}}
    with fake_apis() as (_, urls):
        env |= {var: getattr(urls, field) for field, var in URL_ENV.items()}
        done = subprocess.run([sys.executable, "-c", script], cwd=project.root, env=env, capture_output=True,
                              text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["lambda key present: True", "openai from env: True",
                                        *sorted(f"{spec.name} OK" for spec in CATALOG)]
    for old in ("get_secret(name) is deprecated", "set_local_secret(name, value) is deprecated",
                "test_api_connections() is deprecated"):
        assert old in done.stderr
    assert project.store().get("LAMBDA_API_KEY") == CANARIES["LAMBDA_API_KEY"]
    assert_no_canary(done.stdout + done.stderr)
