#!/usr/bin/env bash
# Create .etl-venv with ethereum-etl 2.4.2 (the benchmark's reference extractor); does nothing when it is there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${ETL_VENV:-$ROOT/.etl-venv}"
UV="$ROOT/.venv/bin/uv"
# The interpreter the project's .venv was made from (Python 3.11), so both sides run the same Python.
PYTHON="${ETL_PYTHON:-$("$ROOT/.venv/bin/python" -c 'import sys; print(sys._base_executable)')}"
# eth-abi 2.2 pins parsimonious < 0.9, whose 0.8 calls inspect.getargspec (gone in 3.11): override to 0.9.0.
OVERRIDE="parsimonious==0.9.0"
EXTRA="setuptools<81"  # web3 5 imports pkg_resources, which uv venvs do not ship

# Installed means the CLI imports (a half-made venv is rebuilt) and reports 2.4.2.
if [ -x "$VENV/bin/ethereumetl" ] && "$VENV/bin/ethereumetl" --version 2>/dev/null | grep -q '2\.4\.2'; then
  echo "$VENV: ethereum-etl 2.4.2 already installed"
  exit 0
fi

rm -rf "$VENV"
if [ -x "$UV" ]; then
  "$UV" venv -q --python "$PYTHON" "$VENV"
  overrides="$(mktemp)"
  trap 'rm -f "$overrides"' EXIT
  echo "$OVERRIDE" >"$overrides"
  "$UV" pip install -q --python "$VENV/bin/python" --override "$overrides" ethereum-etl==2.4.2 "$EXTRA"
else
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q ethereum-etl==2.4.2 "$EXTRA"
  "$VENV/bin/python" -m pip install -q --no-deps "$OVERRIDE"
fi
"$VENV/bin/ethereumetl" --version | grep -q '2\.4\.2'
echo "$VENV: ethereum-etl 2.4.2 installed"
