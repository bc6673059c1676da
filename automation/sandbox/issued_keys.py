"""Lambda keys the sandbox "issues", as the Lambda Cloud console does when you create an API key.

Rotating a key needs a second valid key before the first is revoked. On Lambda Cloud you
create it in the console; in the sandbox you run

    python -m automation.sandbox.issued_keys        # prints a new sandbox Lambda key

which records it (0600, .orchestra/sandbox/issued-lambda-keys) so the emulator accepts it
from its next start on (local_stack.prepare passes the issued keys with the stored one).
A key that was never issued is rejected by the emulator, as a mistyped key is by the API.
"""

from __future__ import annotations

import sys
from pathlib import Path

from secrets_bridge.files import file_lock, write_private


def issued_path(root: Path) -> Path:
    return root / ".orchestra" / "sandbox" / "issued-lambda-keys"


def issued(root: Path) -> list[str]:
    try:
        return [line.strip() for line in issued_path(root).read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def issue(root: Path) -> str:
    from automation.sandbox.local_stack import sandbox_key

    path = issued_path(root)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = sandbox_key("LAMBDA_API_KEY")
    with file_lock(path.with_name(path.name + ".lock"), timeout=10):
        write_private(path, "".join(f"{k}\n" for k in [*issued(root), key]))
    return key


def main() -> int:
    from automation.project import project_root

    print(issue(project_root()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
