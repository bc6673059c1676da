"""Old path of the local stack's set-up, kept for importers: it lives in automation.sandbox.local_stack."""

from automation.sandbox.local_stack import (
    LIVE_NAMES,
    LOCAL_STACK,
    STACK_TEMPLATE,
    VERIFICATION_NOTE,
    LocalSetup,
    ensure_master_key,
    ensure_sandbox_keys,
    ensure_stack_file,
    prepare,
    sandbox_key,
    teardown,
)

__all__ = ["LIVE_NAMES", "LOCAL_STACK", "STACK_TEMPLATE", "VERIFICATION_NOTE", "LocalSetup", "ensure_master_key",
           "ensure_sandbox_keys", "ensure_stack_file", "prepare", "sandbox_key", "teardown"]
