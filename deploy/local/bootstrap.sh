# Sourced by the local commands: makes sure this machine has what Printcloud needs
# (Java + Maven for the Kafka broker, a virtualenv with the project installed).
# Idempotent and quick when everything is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${PRINTCLOUD_VENV:-$ROOT/.venv}"
PYTHON_BIN="${PYTHON:-python3}"

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Printcloud needs: ${need_apt[*]} (install them with your package manager)" >&2
    exit 1
  fi
  echo "installing ${need_apt[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

"$PYTHON_BIN" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "Printcloud needs Python >= 3.11 (found $("$PYTHON_BIN" --version))" >&2; exit 1; }

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating virtualenv $VENV" >&2
  "$PYTHON_BIN" -m venv "$VENV"
fi
stamp="$VENV/.printcloud-installed"
want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing Printcloud and its dependencies into $VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[dev]"
  echo "$want" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"

# The device agent bridges IPP printers; its tests print on Debian's ippeveprinter
# (cups-ipp-utils), which needs dbus-daemon to start; the benchmark compares with a
# real CUPS server (cups) and the analytics docs read topics with kcat.
need_deb=()
{ command -v ippeveprinter >/dev/null 2>&1 || [ -x /usr/sbin/ippeveprinter ]; } || need_deb+=(cups-ipp-utils)
command -v dbus-daemon >/dev/null 2>&1 || need_deb+=(dbus-daemon)
command -v kcat >/dev/null 2>&1 || need_deb+=(kcat)
command -v pdfinfo >/dev/null 2>&1 || need_deb+=(poppler-utils)
[ -x /usr/sbin/cupsd ] || need_deb+=(cups)
[ -x /usr/bin/chromium ] || need_deb+=(chromium)
[ -x /usr/bin/chromedriver ] || need_deb+=(chromium-driver)
if [ "${#need_deb[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need_deb[*]}" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${need_deb[@]}" >/dev/null; } \
      || echo "could not install ${need_deb[*]}: the tests that need them will fail" >&2
  else
    echo "install ${need_deb[*]} (Debian packages) for the tests that need them" >&2
  fi
fi
