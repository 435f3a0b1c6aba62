#!/usr/bin/env bash
# The Python package's tests as a new user meets them: a fresh virtual environment,
# `pip install .` (pip fetches maturin from the package registry; the extension is compiled
# into ./target, reusing the release build's dependencies), then pytest. `.ci/run` calls this.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/python-venv
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet ".[test]"
# From tests/python, so `import argva` is the installed package, not ./python/argva.
cd tests/python
exec "../../$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
