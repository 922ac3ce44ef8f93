#!/usr/bin/env bash
# The README's first command: install, build, put `outpost` on the PATH, then train the example
# job under `outpost run` on the embedded local store (.outpost/) and show the run.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "== build"
npm run build --silent
echo "== npm link (puts 'outpost' on the PATH)"
npm link --no-audit --no-fund --loglevel=error >/dev/null
echo "== outpost run -- python3 scripts/examples/train_logreg.py"
outpost run --experiment quickstart --name logreg -- python3 scripts/examples/train_logreg.py
echo "== outpost history last"
outpost history last
