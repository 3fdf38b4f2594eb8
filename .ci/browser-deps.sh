#!/usr/bin/env bash
# Install the browser tests/report/test_browser.py drives: Debian's chromium (Playwright for Python
# comes with the test extra). The system chromium is launched with executable_path=/usr/bin/chromium;
# we never run `playwright install`, which would download a browser build.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
chromium --version 2>/dev/null
