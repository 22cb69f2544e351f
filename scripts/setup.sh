#!/usr/bin/env bash
# Set up a fresh machine for the gateway: a virtual environment with the package (and, with --test,
# the test tools), the deep-chat widget from npm for the demo page, and (with --test) the Debian
# packages the test suite drives for real. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=false
[[ "${1:-}" == "--test" ]] && with_tests=true

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
if $with_tests; then
  .venv/bin/python -m pip install --quiet -e '.[test]'
else
  .venv/bin/python -m pip install --quiet -e .
fi

# The demo page serves the widget from node_modules; without npm the gateway still runs (API only). The
# browser tests also load the openai package (a dev dependency) from there.
if [[ ! -f node_modules/deep-chat/dist/deepChat.bundle.js ]] || { $with_tests && [[ ! -f node_modules/openai/index.mjs ]]; }; then
  if command -v npm >/dev/null 2>&1; then
    npm ci --no-audit --no-fund --loglevel=error
  elif $with_tests; then
    echo "setup: npm is missing; the browser tests need the deep-chat and openai packages from npm" >&2
    exit 1
  else
    echo "setup: npm not found; the demo page at / will load without the Deep Chat widget" >&2
  fi
fi

if $with_tests; then
  bash scripts/system-deps.sh
fi
