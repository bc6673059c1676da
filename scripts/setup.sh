#!/usr/bin/env bash
# One set-up path for a fresh machine, a developer's and CI's: the project's
# virtualenv with its dev extras, the Pulumi engine (found, cached or built from
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

# 2. the Pulumi engine (CLI + Python language host), cached by version
.venv/bin/python -m automation.engine ensure

# 3. actionlint, to lint the workflows in tests (the PyPI wrapper downloads a
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

# 4. shellcheck (a Debian package), so actionlint also checks the workflows' run: scripts
if ! command -v shellcheck >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        say "installing shellcheck (apt-get)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck >/dev/null \
            || say "shellcheck could not be installed: install it so actionlint checks the workflows' scripts"
    else
        say "shellcheck is missing: install it (e.g. sudo apt-get install shellcheck) so actionlint checks run: scripts"
    fi
fi
say "ready: $root/.venv"
