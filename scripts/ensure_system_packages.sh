#!/usr/bin/env bash
# Debian packages the browser and screen tests need: chromium (extension, arena, demo),
# xvfb and xdotool (the screen bot on a virtual screen). Installed when missing and we may
# (root with apt-get); otherwise say why: those tests then skip with the reason (or fail
# under CI, which sets PIGEON_REQUIRE_BROWSER=1).
set -u
need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/lib/chromium/chromium ] || need+=(chromium)
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
command -v xdotool >/dev/null 2>&1 || need+=(xdotool)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing Debian packages for the browser/screen tests: ${need[*]} (about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq "${need[@]}" >/dev/null; then
    echo "    installed ${need[*]}"
    exit 0
  fi
  echo "    apt-get could not install ${need[*]}; those tests will skip (or fail under CI)"
else
  echo "note: missing ${need[*]} and this user cannot apt-get them; browser/screen tests"
  echo "      will skip. Install them with: sudo apt-get install ${need[*]}"
fi
exit 0
