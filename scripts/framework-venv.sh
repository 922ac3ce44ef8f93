#!/usr/bin/env bash
# The virtualenv the framework tests train in (test/frameworks/requirements.txt: torch CPU,
# lightning, tensorboard, keras), at .venv-frameworks/. Made once and reused while it is complete
# (made from the same requirements, and every framework imports); else made again from scratch.
# pip is given the indexes it is configured with as --index-url/--extra-index-url, so that where
# only a local mirror can be reached it does not spend minutes trying the public index first.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-frameworks
REQ=test/frameworks/requirements.txt
STAMP="$VENV/.complete"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
# Found without importing them (torch and lightning take seconds to import).
present='import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in ["torch", "lightning", "tensorboard", "keras"]))'
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c "$present" 2>/dev/null; then
  echo "== framework virtualenv: $VENV (reused)"
  exit 0
fi
echo "== framework virtualenv: making $VENV (torch CPU, lightning, tensorboard, keras)"
started=$(date +%s)
rm -rf "$VENV"
python3 -m venv "$VENV" || exit 1
# The configured indexes, in order, each once.
mapfile -t urls < <("$VENV/bin/pip" config list 2>/dev/null | sed -n "s/^[^=]*\.index-url='\(.*\)'$/\1/p; s/^[^=]*\.extra-index-url='\(.*\)'$/\1/p" | tr ' ' '\n' | awk 'NF && !seen[$0]++')
args=()
for i in "${!urls[@]}"; do
  if [ "$i" = 0 ]; then args+=(--index-url "${urls[$i]}"); else args+=(--extra-index-url "${urls[$i]}"); fi
done
# A mirror that lacks a project prints a warning per lookup: noise, not news.
"$VENV/bin/pip" install --quiet --disable-pip-version-check "${args[@]}" -r "$REQ" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2) || exit 1
KERAS_BACKEND=torch "$VENV/bin/python" -c 'import torch, lightning, tensorboard, keras' || exit 1
echo "$want" > "$STAMP"
echo "== framework virtualenv made in $(( $(date +%s) - started )) s"
