#!/usr/bin/env bash
# The test command: lint, types, then every test (unit, DynamoDB Local integration started
# by the test session itself, conformance suite, graphs, examples). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests examples
.venv/bin/ruff format --check src tests examples
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
