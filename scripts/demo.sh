#!/usr/bin/env bash
# The main job: the incident investigation, end to end, on DynamoDB Local (no AWS account).
# Set-up first, each step idempotent and quick once done: Java and npm with apt-get if
# missing, the virtualenv .venv with the package and what the example needs (not the
# infrastructure tooling, which only the tests use), DynamoDB Local. Arguments go to
# `python -m examples.incident` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_setup.sh
ensure_system_tools
ensure_venv .venv "async,examples" "${PYTHON:-python3}" constraints.txt dev
ensure_dynamodb_local .venv
exec .venv/bin/python -m examples.incident "$@"
