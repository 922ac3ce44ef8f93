#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine, type-checks, builds, runs jest,
# and ends with one plain line "N passed, N failed[, N skipped]".
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
echo "== jest"
rm -f .jest-results.json
npx jest --json --outputFile=.jest-results.json "$@"
status=$?
node scripts/jest-summary.js .jest-results.json || status=1
exit $status
