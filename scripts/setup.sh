#!/usr/bin/env bash
# One set-up path for a fresh machine, a developer's and CI's: the project's
# virtualenv with its dev extras, PostgreSQL's server binaries, the Pulumi engine (found, cached or built from
# Go modules) and actionlint (built from Go modules). Safe to re-run: each step
# is skipped when its result is already there and up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache="${ORCHESTRA_CACHE:-$HOME/.cache/orchestra}"
python="${PYTHON:-python3}"

say() { printf '[setup] %s\n' "$*" >&2; }

# 1. virtualenv: reinstall only when pyproject.toml changed
stamp=.venv/.orchestra-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -x .venv/bin/python ]]; then
    say "creating .venv with $($python --version)"
    "$python" -m venv .venv
fi
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    say "installing the project and its dev extras into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
    echo "$want" > "$stamp"
fi

# 2. PostgreSQL server binaries for the shared-state tests (tests/support/services.py
#    starts its own cluster in a temp dir; Debian keeps the binaries off PATH)
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null && ! command -v initdb > /dev/null; then
    if command -v apt-get > /dev/null && [[ $(id -u) == 0 ]]; then
        say "installing PostgreSQL (apt) for the shared-state tests"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql > /dev/null
        # the package starts a cluster of its own; the tests start theirs on a free port
        command -v pg_ctlcluster > /dev/null && pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
            pg_ctlcluster "$ver" "$name" stop || true; done
    else
        say "PostgreSQL server binaries are missing: install the postgresql package (the shared-state tests need initdb)"
    fi
fi

# 3. the Pulumi engine (CLI + Python language host), cached by version
.venv/bin/python -m automation.engine ensure
# ... and the GitHub and Vercel provider plugins at the SDKs' versions. Without network this
# fails (the message says how to install them offline); the driver tries again before deploying.
.venv/bin/python -m automation.plugins ensure || say "provider plugins not installed yet (see above); stacks without GitHub and Vercel do not need them"

# 4. actionlint, to lint the workflows in tests (the PyPI wrapper downloads a
#    release binary, which this network refuses; the Go module builds anywhere)
actionlint_version=v1.7.12
actionlint="$cache/tools/actionlint-$actionlint_version/actionlint"
if [[ ! -x "$actionlint" ]]; then
    say "building actionlint $actionlint_version from Go modules"
    mkdir -p "$(dirname "$actionlint")"
    GOBIN="$(dirname "$actionlint")" GOTOOLCHAIN=local GOFLAGS=-mod=mod \
        go install "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version"
fi
ln -sf "$actionlint" .venv/bin/actionlint

# 5. shellcheck (a Debian package), so actionlint also checks the workflows' run: scripts
if ! command -v shellcheck >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        say "installing shellcheck (apt-get)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck >/dev/null; } \
            || say "shellcheck could not be installed: install it so actionlint checks the workflows' scripts"
    else
        say "shellcheck is missing: install it (e.g. sudo apt-get install shellcheck) so actionlint checks run: scripts"
    fi
fi
say "ready: $root/.venv"
