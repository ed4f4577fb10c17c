#!/usr/bin/env bash
# The test command: set-up (idempotent and quick once done: Java and npm with apt-get if
# missing, the virtualenv .venv with every development dependency pinned by
# constraints.txt, DynamoDB Local), then lint, types and every test: unit, DynamoDB Local
# integration (started by the test session itself), conformance, reliability, graphs,
# examples and infrastructure templates; the documentation site is built strictly and
# every block of README.md and docs/ runs (tests/test_docs.py). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_setup.sh
ensure_dev_environment
.venv/bin/ruff check src tests examples scripts bench
.venv/bin/ruff format --check src tests examples scripts bench
.venv/bin/mypy
bash scripts/docs.sh "$(mktemp -d)"
.venv/bin/python -m pytest "$@"
