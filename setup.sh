#!/usr/bin/env bash
# Set up effbench in ./.venv on a fresh machine (Debian/Ubuntu with Python 3.10+).
#   bash setup.sh          the package and what the default suite needs
#   bash setup.sh --test   also the test tools and the headless browser for the report tests
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --disable-pip-version-check -q)
# torch first and pinned: an unpinned torch pulls gigabytes of CUDA wheels; 2.13.0 is the local CPU build here.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  "${PIP[@]}" "torch==${EFFBENCH_TORCH_VERSION:-2.13.0}"
fi
if [ "${1:-}" = "--test" ]; then
  "${PIP[@]}" -e ".[test]"
  if [ -f .ci/browser-deps.sh ]; then
    bash .ci/browser-deps.sh
  fi
else
  "${PIP[@]}" -e .
fi
echo "effbench is set up in .venv (run: .venv/bin/effbench --help)" >&2
