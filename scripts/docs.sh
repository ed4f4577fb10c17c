#!/usr/bin/env bash
# The documentation site, built strictly (every warning fails: a broken link or anchor, a
# page missing from the nav, a docstring the API reference cannot read). The output goes
# to site/ (ignored by git); `.venv/bin/mkdocs serve` shows it while you edit.
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_MKDOCS_2_WARNING=1
.venv/bin/mkdocs build --strict --quiet -d "${1:-site}"
echo "docs: the site built strictly into ${1:-site}/"
