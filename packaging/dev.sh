#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for bigsync-gui (system libraries, a venv, the package)
# and then runs it:
#   packaging/dev.sh run [ARGS]    the app against the built-in sandbox (ARGS: the app's own, e.g. --profile DIR
#                                  for a real setup); without a display, the sandbox alone, headless
#   packaging/dev.sh test [ARGS]   the whole test suite (ARGS go to pytest)
# Safe to run again: each step is skipped when already done.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
venv="${BIGSYNC_VENV:-$here/.venv}"

# Libraries Qt (xcb platform, WebEngine) needs at run time; tests run offscreen but the same
# libraries are loaded. Installed only when missing and only where apt-get exists.
APT_PACKAGES=(libnss3 libxkbcommon0 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3
              libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-xinerama0
              libxcb-xkb1 libxcb-shape0 libxcb-randr0 libxcb-cursor0 libxcomposite1 libxdamage1
              libxrandr2 libxtst6 libasound2
              # the real-tray test: a virtual X server and a tray host on it
              xvfb trayer xauth)

say() { printf '\033[1m[bigsync-gui]\033[0m %s\n' "$*" >&2; }

install_system_packages() {
  command -v apt-get >/dev/null 2>&1 || { say "no apt-get: install the Qt runtime libraries yourself (see README)"; return 0; }
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing system libraries: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_packages() {
  local extras="$1" stamp="$venv/.bigsync-installed-$1"
  if [ ! -x "$venv/bin/python" ]; then
    say "creating the virtual environment in $venv"
    python3 -m venv "$venv"
  fi
  # Reinstall only when pyproject.toml changed since the last install of these extras.
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "installing bigsync-gui and its dependencies${extras:+ [$extras]} (first time: about a minute)"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".${extras:+[$extras]}"
    touch "$stamp"
  fi
}

command=${1:-run}
shift || true
case "$command" in
  run)
    install_system_packages
    install_python_packages ""
    if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${QT_QPA_PLATFORM:-}" != "offscreen" ]; then
      say "no display here: running the sandbox alone (its console page works in any browser)"
      exec "$venv/bin/bigsync-gui" sandbox
    fi
    [ $# -eq 0 ] && set -- --sandbox
    exec "$venv/bin/bigsync-gui" "$@"
    ;;
  test)
    install_system_packages
    install_python_packages test
    export QT_QPA_PLATFORM=offscreen QTWEBENGINE_CHROMIUM_FLAGS=--no-sandbox
    # Default: the whole suite on both cores; any ARGS replace that (e.g. a single test file).
    [ $# -eq 0 ] && set -- -n 2
    exec "$venv/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: packaging/dev.sh run|test [ARGS]" >&2
    exit 2
    ;;
esac
