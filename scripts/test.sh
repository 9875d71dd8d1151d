#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite (lint + pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet -e '.[test]'
python3 -m ruff check hyoka tests build.py
python3 -m pytest -q "$@"
