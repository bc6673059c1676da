"""The Pulumi program's entry point: Pulumi.yaml sets no `main`, so the engine runs this file.

It lives in the project root, not in infra/, because the engine starts Python dynamic
providers with the program's directory as their working directory and resolves
Pulumi.yaml's `virtualenv: .venv` against it: with the program in infra/ the
providers would look for infra/.venv. From here `infra` and `secrets_bridge` import
as packages with or without the editable install.
"""

from infra.program import run

run()
