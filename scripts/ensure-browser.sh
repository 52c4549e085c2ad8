#!/usr/bin/env bash
# Make sure a Chromium is installed for the web chat's browser tests (Playwright drives the system's browser;
# it cannot download its own here). Installs Debian's `chromium` when missing and this user may run apt-get;
# otherwise says why, and the browser tests skip with the same reason.
set -u
for name in chromium chromium-browser google-chrome; do
  command -v "$name" >/dev/null 2>&1 && exit 0
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
  command -v chromium >/dev/null 2>&1 && exit 0
  echo "could not install chromium with apt-get: the browser tests will be skipped" >&2
  exit 0
fi
echo "no Chromium and no way to install it (needs root and apt-get): the browser tests will be skipped" >&2
exit 0
