#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine, type-checks, builds,
# runs pytest (the Python helper) and jest, and ends with one plain line
# "N passed, N failed[, N skipped]" counting both.
set -uo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests run for real: apt-get update once, then each missing one.
updated=""
apt_install() {
  local sudo=""
  [ "$(id -u)" = "0" ] || sudo="sudo"
  if [ -z "$updated" ]; then $sudo apt-get update -qq || return 1; updated=1; fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium (browser tests)"
  apt_install chromium || exit 1
fi
# PostgreSQL: the store suite and the replica tests start clusters of their own (initdb, pg_ctl);
# Debian keeps those binaries in /usr/lib/postgresql/N/bin, off the PATH.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "== installing postgresql (store and replica tests)"
  apt_install postgresql || exit 1
fi
# nginx: the load balancer in front of the replicas (the tests write its config; no service is started).
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "== installing nginx (replica tests)"
  apt_install nginx-light || apt_install nginx || exit 1
fi
# moto's S3-compatible server for the S3 blob tests: from pip's configured indexes (only those:
# an index that cannot be reached costs minutes of retries), into a venv of its own.
if ! command -v moto_server >/dev/null 2>&1 && [ ! -x .venv-moto/bin/moto_server ]; then
  echo "== installing moto (S3 blob tests)"
  index_args=()
  for url in $(python3 -m pip config get global.index-url 2>/dev/null) $(python3 -m pip config get global.extra-index-url 2>/dev/null); do
    if [ ${#index_args[@]} -eq 0 ]; then index_args+=(--index-url "$url"); else index_args+=(--extra-index-url "$url"); fi
  done
  python3 -m venv .venv-moto && .venv-moto/bin/pip install --quiet "${index_args[@]}" "moto[server]" || exit 1
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
