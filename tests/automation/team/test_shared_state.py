"""`up local` with the state on PostgreSQL or S3 and the secrets on KMS or Vault, through the real engine.

Each case is a fresh checkout whose stack is created by `up local --secrets-provider URL`:
no passphrase is generated or stored. Then a no-change `up`, `check` showing the backend
and the provider, `destroy`; the state table rows / bucket objects are swept for canaries.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import yaml

from secrets_bridge.catalog import PULUMI_PASSPHRASE_NAME
from tests.support.checkout import Checkout, sandbox_stack_yaml
from tests.support.loopback import free_port

pytestmark = pytest.mark.e2e
CASES = [("postgres", "awskms"), ("postgres", "hashivault"), ("s3", "awskms"), ("s3", "hashivault")]


@pytest.fixture
def shared(request, postgres, moto, openbao):
    """(backend URL, secrets provider URL, env for both, sweep() -> (state keys, all state text)) for one case."""
    backend, provider = request.param
    name = f"case{free_port()}"
    env = {**moto.env()} if "awskms" in (backend, provider) or backend == "s3" else {}
    if backend == "postgres":
        url = postgres.url(postgres.create_database(name))

        def sweep():
            rows = postgres.state_rows(name)
            return list(rows), "\n".join([postgres.dump(name), *rows.values()])
    else:
        env.update(moto.env())
        url = moto.bucket_url(moto.create_bucket(name))

        def sweep():
            return moto.bucket_text(name)
    if provider == "awskms":
        env.update(moto.env())
        secrets_provider = moto.create_key(name)
    else:
        env.update(openbao.env())
        secrets_provider = openbao.create_key(name)
    return backend, url, secrets_provider, env, sweep


@pytest.fixture
def checkout(tmp_path, engine, shared, canaries):
    backend, url, _, env, _ = shared
    co = Checkout(tmp_path / "checkout", engine.bin_dir, {**env, "PULUMI_BACKEND_URL": url})
    co.stack_file("local").write_text(sandbox_stack_yaml(free_port(), free_port()))
    co.store().set_many(canaries)
    yield co
    co.stop_sandbox()


@pytest.mark.parametrize("shared", CASES, indirect=True, ids=[f"{b}-{p}" for b, p in CASES])
def test_up_no_change_up_destroy_with_no_passphrase_and_no_plaintext(checkout, shared, canaries):
    backend, url, provider, _, sweep = shared
    created = checkout.run("up", "local", "--yes", "--secrets-provider", provider)
    assert created.returncode == 0, created.stderr[-3000:]
    assert "Health: healthy" in created.stdout
    stack = yaml.safe_load(checkout.stack_file("local").read_text())
    assert stack["secretsprovider"] == provider and stack["encryptedkey"] and "encryptionsalt" not in stack
    assert checkout.store().get(PULUMI_PASSPHRASE_NAME) is None, "a passphrase was generated for a KMS/Vault stack"

    checked = checkout.run("check", "local")
    assert checked.returncode == 0, checked.stderr
    where = urlsplit(url)
    assert f"backend  {backend} ({where.scheme}://{where.hostname}{f':{where.port}' if where.port else ''}{where.path})" in checked.stdout
    assert f"secrets  {provider.split('?')[0]}" in checked.stdout

    again = checkout.json("up", "local", "--yes")
    assert again["preview"]["summary"] == again["applied"]["summary"] == "no changes"
    report = next((checkout.root / "reports").glob("*.md")).read_text()
    assert f"| Secrets provider | {provider.split('?')[0]} |" in report

    keys, text = sweep()
    assert any(k.endswith("stacks/orchestra/local.json") for k in keys), keys
    assert "secret_canary" not in text and text.count('"ciphertext"') >= len(canaries)
    destroyed = checkout.run("destroy", "local", "--yes")
    assert destroyed.returncode == 0, destroyed.stderr[-3000:]
    keys, after = sweep()
    assert any(k.endswith("stacks/orchestra/local.json") for k in keys)
    everything = checkout.files_text() + text + after
    for name, canary in canaries.items():
        assert canary not in everything, f"{name} in plaintext"
    if where.password:
        assert where.password not in checkout.files_text(), "the database password was shown"
