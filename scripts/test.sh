#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine, type-checks, builds,
# runs pytest (the Python helper) and jest, and ends with one plain line
# "N passed, N failed[, N skipped]" counting both.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium (browser tests)"
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || exit 1
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || exit 1
  fi
fi

echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error || exit 1
echo "== type-check (src, config, scripts and test)"
npm run lint --silent || exit 1
echo "== build"
npm run build --silent || exit 1
if ! python3 -c 'import pytest' 2>/dev/null; then
  echo "== installing pytest (the Python helper's tests)"
  python3 -m pip install --quiet pytest || exit 1
fi
echo "== pytest (the Python helper)"
rm -f .pytest-results.xml
python3 -m pytest test/client/python -q --junitxml=.pytest-results.xml
status=$?
# The real frameworks the framework tests train with; without them those tests are skipped,
# except under CI=true, where they fail.
bash scripts/framework-venv.sh || echo "== the framework virtualenv could not be made: the framework tests fail under CI=true, else are skipped"
echo "== jest"
rm -f .jest-results.json
npx jest --json --outputFile=.jest-results.json "$@" || status=1
# The last line: jest's and pytest's results counted together.
node scripts/test-summary.js .jest-results.json .pytest-results.xml || status=1
exit $status
