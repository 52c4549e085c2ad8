#!/usr/bin/env bash
# Check the locked dependency tree for known vulnerabilities with pip-audit (PyPI's advisory database).
# Offline first: when the tool cannot be installed or the database cannot be reached, say clearly that
# what was not checked and exit 0, so an offline build is not blocked; found vulnerabilities exit 1.
set -u
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
tools=.venv-tools
locks=("$@")
[ ${#locks[@]} -gt 0 ] || locks=(requirements.lock requirements-test.lock)

not_checked() {
  echo "AUDIT NOT DONE: $1" >&2
  echo "The locked dependencies were NOT checked for vulnerabilities; run 'make audit' again when online." >&2
  exit 0
}

if [ ! -x "$tools/bin/pip-audit" ]; then
  { test -x "$tools/bin/python" || "$python" -m venv "$tools"; } >/dev/null 2>&1 \
    && "$tools/bin/python" -m pip install --quiet 'pip-tools>=7.4,<8' 'pip-audit>=2.7,<3' >/dev/null 2>&1 \
    || not_checked "pip-audit could not be installed (no network or no package index)."
fi

# Which packages were really looked up is decided from pip-audit's JSON report (scripts/audit.py).
exec "$tools/bin/python" scripts/audit.py "${locks[@]}"
