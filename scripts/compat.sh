#!/usr/bin/env bash
# Both ends of what the package declares, and the artefacts users install. CI runs it
# after the test command; it needs the package registry. Each step prints what it found.
#   1. build: wheel and sdist, `twine check`, the wheel holds the package, py.typed,
#      the zstd dictionary and the replay UI's page (static/) and nothing else, the
#      version is the package's;
#   2. resolution: `pip install --dry-run` beside the stacks users have, nothing falls back
#      to older releases (scripts/check_resolution.py);
#   3. floors: unit and DynamoDB Local integration tests on the oldest Python with every
#      dependency at the lowest version pyproject.toml declares (constraints-floor.txt);
#      run in the background beside 4 and 5, its output printed after them;
#   4. base install: the newest boto3 without the async extra, on the newest Python:
#      unit tests and tests/install (sync works, async names the extra to install);
#   5. sdist: installed (not editable) into a clean virtualenv on Python 3.12: unit tests.
# Virtualenvs live under .compat/ (re-used while their inputs are unchanged).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_setup.sh
ensure_dev_environment

find_python() {  # find_python 3.10: that Python from PATH or pyenv, else fail
  local version=$1 candidate
  for candidate in "python$version" "$(pyenv root 2>/dev/null)/versions/$version"*/bin/"python$version"; do
    if [ -n "$candidate" ] && "$candidate" -c 'import sys' >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "compat: Python $version is needed (install it, e.g. with pyenv)" >&2
  return 1
}
PY_OLD=$(find_python 3.10)
PY_NEW=$(find_python 3.13)
PY_MID=$(find_python 3.12)
mkdir -p .compat

echo "== 1. build"
rm -rf .compat/dist
.venv/bin/python -m build -q --outdir .compat/dist . 2>&1 | grep -v "WARNING: Location" || true
.venv/bin/python -m twine check --strict .compat/dist/*
.venv/bin/python - <<'PY'
import re, sys, zipfile, pathlib
import langgraph_dynamodb
wheel = next(pathlib.Path(".compat/dist").glob("*.whl"))
names = zipfile.ZipFile(wheel).namelist()
payload = sorted(n for n in names if ".dist-info/" not in n)
unexpected = [n for n in payload if not re.fullmatch(r"langgraph_dynamodb/([a-z_0-9]+/)*[a-z_0-9]+\.py|langgraph_dynamodb/(py\.typed|zstd_d1\.bin)|langgraph_dynamodb/replay/static/[a-z_0-9]+\.(html|css|js)", n)]
for needed in ("langgraph_dynamodb/py.typed", "langgraph_dynamodb/zstd_d1.bin", "langgraph_dynamodb/__init__.py", "langgraph_dynamodb/replay/static/index.html", "langgraph_dynamodb/replay/static/app.js", "langgraph_dynamodb/replay/static/app.css"):
    if needed not in names:
        sys.exit(f"the wheel lacks {needed}")
if unexpected:
    sys.exit(f"the wheel holds more than the package: {unexpected}")
if f"-{langgraph_dynamodb.__version__}-" not in wheel.name:
    sys.exit(f"{wheel.name} is not version {langgraph_dynamodb.__version__}")
print(f"  {wheel.name}: {len(payload)} files, {wheel.stat().st_size} bytes")
PY

echo "== 2. resolution beside the stacks users have"
.venv/bin/python scripts/check_resolution.py .compat/dist/*.whl

# Step 3 runs in the background while 4 and 5 (mostly installs) run; its output follows.
echo "== 3. floors ($("$PY_OLD" --version)): started, its output after step 5"
(
  ensure_venv .compat/floor "async,otel,test,encryption" "$PY_OLD" constraints-floor.txt
  .compat/floor/bin/python -m pip list --disable-pip-version-check 2>/dev/null |
    grep -iE '^(boto3|botocore|aiobotocore|langgraph|langgraph-checkpoint|zstandard|ormsgpack|cryptography) ' |
    tr -s ' ' | tr '\n' ';'
  echo
  .compat/floor/bin/python -m pytest tests/unit tests/integration -q -p no:cacheprovider
) > .compat/floor.log 2>&1 &
floors=$!
trap 'kill "$floors" 2>/dev/null || true' EXIT  # the job this script started, by PID

echo "== 4. base install, newest boto3, no async extra ($("$PY_NEW" --version))"
rm -rf .compat/base
"$PY_NEW" -m venv .compat/base
.compat/base/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.compat/base/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 |
  grep -v "WARNING: Location" || true
.compat/base/bin/python -m pip list --disable-pip-version-check 2>/dev/null |
  grep -iE '^(boto3|botocore|aiobotocore|langgraph|langgraph-checkpoint) ' | tr -s ' ' | tr '\n' ';'
echo
if .compat/base/bin/python -c 'import aiobotocore' 2>/dev/null; then
  echo "compat: aiobotocore is installed in the base install" >&2
  exit 1
fi
.compat/base/bin/python -m pytest tests/unit tests/install -q -p no:cacheprovider

echo "== 5. sdist, installed into a clean virtualenv ($("$PY_MID" --version))"
rm -rf .compat/sdist
"$PY_MID" -m venv .compat/sdist
.compat/sdist/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
sdist=$(ls .compat/dist/*.tar.gz)
.compat/sdist/bin/python -m pip install -q --disable-pip-version-check "$sdist[async,test]" 2>&1 |
  grep -v "WARNING: Location" || true
(cd .compat && sdist/bin/python -c 'import langgraph_dynamodb, pathlib; p = pathlib.Path(langgraph_dynamodb.__file__); assert "site-packages" in str(p), p; print("  installed:", p.parent)')
.compat/sdist/bin/python -m pytest tests/unit -q -p no:cacheprovider

echo "== 3. floors ($("$PY_OLD" --version)): unit and DynamoDB Local integration tests"
status=0
wait "$floors" || status=$?
trap - EXIT
cat .compat/floor.log
if [ "$status" -ne 0 ]; then
  echo "compat: the tests on the floors failed (exit $status)" >&2
  exit "$status"
fi
echo "compat: done"
