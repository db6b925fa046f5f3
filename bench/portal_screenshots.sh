#!/usr/bin/env bash
# Screenshots of every portal page at desktop and phone (375 px) width, into
# docs/portal/: the browser tests save each page they check there.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/portal
PRINTCLOUD_PORTAL_SCREENSHOTS="$PWD/docs/portal" bash deploy/local/test -q -p no:randomly tests/portal "$@"
