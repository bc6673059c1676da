"""The local sandbox: what `python -m automation up local` deploys to instead of the cloud.

    local_stack.py      the `local` stack's set-up: master key, sandbox keys, emulators started
    manager.py          start, reuse and stop the emulator and backend as detached processes
    lambda_emulator.py  the Lambda Cloud API on a loopback port (HTTP server, CLI entry point)
    lambda_api.py       the emulated API's behaviour and state; the instance status rule
    lambda_rulesets.py  the emulated firewall rulesets (per region, attached at launch)
    lambda_rules.py     the API's request rules: auth header, error replies, body validation
    emulator_hooks.py   test-only hooks under /_emulator/ (state, request log, config, faults)
    backend.py          the backend the sandbox instance "serves" (/health), and the frontend page
"""
