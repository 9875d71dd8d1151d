#!/usr/bin/env bash
# The README's test command: install everything the tests need, then run the whole suite (lint + pytest).
#
# Installs, each only when missing (a second run skips straight to the tests):
#   Debian packages  chromium (the browser tests' browser), fonts-noto-cjk (without it Japanese
#                    renders as boxes), default-jre-headless (java for the Nu Html Checker),
#                    nodejs + npm (only if npm is missing)
#   npm packages     axe-core and vnu-jar, pinned in package-lock.json, with `npm ci --ignore-scripts`
#                    (vnu-jar's install script would download a Java; Debian's is used instead)
#   Python packages  this project with its [test] extra (pytest, playwright, ...)
# Never `playwright install`: it downloads a browser; the tests drive Debian's /usr/bin/chromium.
#
# Arguments go to pytest (e.g. `bash scripts/test.sh tests/test_links.py -x`).
# HYOKA_SKIP_BROWSER=1 skips the browser tests for a quick local run (ignored in CI).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "scripts/test.sh: need root (or sudo) to run: $*" >&2
    exit 1
  fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# 1. Debian packages
apt_packages=()
[ -x /usr/bin/chromium ] || apt_packages+=(chromium)
installed fonts-noto-cjk || apt_packages+=(fonts-noto-cjk)
command -v java >/dev/null 2>&1 || apt_packages+=(default-jre-headless)
command -v npm >/dev/null 2>&1 || apt_packages+=(nodejs npm)
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing Debian packages: ${apt_packages[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${apt_packages[@]}" >/dev/null
fi

# 2. npm packages (test tools only), when node_modules is missing or package-lock.json changed
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp=node_modules/.hyoka-package-lock.sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  echo "scripts/test.sh: installing npm packages (npm ci --ignore-scripts)"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
fi

# 3. Python packages
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

# 4. The suite
python3 -m ruff check hyoka tests build.py
python3 -m pytest -q "$@"
