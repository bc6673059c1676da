"""Values the Lambda Cloud tests share (imported by tests; fixtures live in conftest.py)."""

# If this value shows up in pickled bytes, a message, a log or a state file, the key leaked.
CANARY = "secret_canary-lambda_7c1f93ab52e04d6e"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm0pVb0uR6bWlqFJwQ6r0pG3Zt0hK1nJc9aX2dYf4qL test@orchestra"
BOOT = 0.2  # seconds an emulated instance boots
