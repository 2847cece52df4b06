#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests when it is missing and we may (root).
# Otherwise say why; the browser tests then skip with that reason (or fail under CI).
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/lib/chromium/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing Debian's chromium for the browser tests (apt-get, about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null \
    && echo "    chromium installed: $(chromium --version 2>/dev/null)" && exit 0
  echo "    could not install chromium with apt-get; browser tests will skip (or fail under CI)"
else
  echo "note: chromium is not installed and this user cannot apt-get it;"
  echo "      browser tests will skip. Install it with: sudo apt-get install chromium"
fi
exit 0
