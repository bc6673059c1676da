"""`python -m secrets_bridge` / `secrets-bridge`: manage the platform's API keys.

    common     the typer app, shared options, the managers a command opened
    keys       set, get, delete, list, explain
    envfiles   import-env, export-env
    run        run -- COMMAND (keys in its environment, output masked)
    admin      rotate-master-key, setup
    app        main(): exit codes, one-line errors, Ctrl-C
"""

from .app import app, main

__all__ = ["app", "main"]
