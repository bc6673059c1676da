"""Errors of the automation driver: one class per pipeline stage, each its own exit code.

    AutomationError                base
    ├── UsageError           (2)   a bad argument, e.g. a stack name breaking the naming rule
    ├── PreflightFailed     (30)   a key is missing, malformed or invalid; `check` blocks
    ├── EngineMissing       (31)   no usable Pulumi engine (see automation/engine/)
    ├── BackendUnreachable  (32)   the state backend or the secrets provider cannot be used
    ├── StackNotFound       (33)   unknown stack and no --create; the message lists stacks
    ├── StackLocked         (34)   another update holds the stack; says how to clear it
    ├── InjectFailed        (35)   `pulumi config set --secret` failed
    ├── PreviewFailed       (36)
    ├── UpFailed            (37)   one readable line per failed resource
    ├── Unhealthy           (38)   the health check did not pass before its deadline
    ├── RefreshFailed       (39)
    ├── DestroyFailed       (40)
    ├── ConfigInvalid       (41)   stack config missing or wrong; names the key and the fix
    ├── SandboxFailed       (42)   the local sandbox emulators could not start
    ├── Declined            (43)   the person answered no, or there was no terminal to ask on
    ├── DriftDetected       (44)   --expect-no-changes and the stack differs from its resources
    ├── BackupFailed        (45)   the state could not be exported, so the change was not started
    ├── RestoreFailed       (46)   no such backup, or the engine refused to import it
    └── RotationFailed      (47)   the new key was rejected, or its deploy failed and the old key is back
Ctrl-C exits 130; the message names the stage it interrupted. SIGTERM (a CI runner cancelling the job)
raises `Terminated`, which stops the engine and exits 143.
secrets_bridge errors (exit codes 3-12) pass through unchanged.
"""

from __future__ import annotations


class AutomationError(Exception):
    exit_code = 1


class UsageError(AutomationError):
    exit_code = 2


class PreflightFailed(AutomationError):
    exit_code = 30


class EngineMissing(AutomationError):
    exit_code = 31


class BackendUnreachable(AutomationError):
    exit_code = 32


class StackNotFound(AutomationError):
    exit_code = 33


class StackLocked(AutomationError):
    exit_code = 34


class InjectFailed(AutomationError):
    exit_code = 35


class PreviewFailed(AutomationError):
    exit_code = 36


class UpFailed(AutomationError):
    exit_code = 37


class Unhealthy(AutomationError):
    exit_code = 38


class RefreshFailed(AutomationError):
    exit_code = 39


class DestroyFailed(AutomationError):
    exit_code = 40


class ConfigInvalid(AutomationError):
    exit_code = 41


class SandboxFailed(AutomationError):
    exit_code = 42


class Declined(AutomationError):
    exit_code = 43


class DriftDetected(AutomationError):
    exit_code = 44


class BackupFailed(AutomationError):
    exit_code = 45


class RestoreFailed(AutomationError):
    exit_code = 46


class RotationFailed(AutomationError):
    exit_code = 47


INTERRUPTED_EXIT_CODE = 130
TERMINATED_EXIT_CODE = 143     # 128 + SIGTERM, as a shell reports a process SIGTERM ended


class Terminated(KeyboardInterrupt):
    """The driver received SIGTERM: raised in the main thread by the handler `main` installs, so every
    clean-up an interrupt runs also runs for it; the engine is stopped first (automation/engine_cli.py)."""

    engine_killed = False      # the engine ignored SIGTERM twice and was killed: its lock is left behind
