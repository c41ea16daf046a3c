#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for bigsync-gui (system libraries, a venv, the package)
# and then runs it:
#   packaging/dev.sh run [ARGS]    the app against the built-in sandbox (ARGS: the app's own, e.g. --profile DIR
#                                  for a real setup); without a display, the sandbox alone, headless
#   packaging/dev.sh test [ARGS]   the whole test suite (ARGS go to pytest)
#   packaging/dev.sh lint          ruff (lint and format check) and mypy, as configured in pyproject.toml
#   packaging/dev.sh anydate [ARGS]  the suite (minus the slow run) with the machine's clock moved by
#                                  libfaketime to each of: a month end at 23:58, 29 February of a leap
#                                  year, 31 December at 23:59, two years ahead (ARGS go to pytest)
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
              xvfb trayer xauth
              # the packaging test: keys to the frozen app's wizard on that X server
              xdotool
              # `anydate`: the suite with the clock moved (libfaketime)
              faketime)

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

# pip (26.3 on) shows the build warnings of a project installed from a folder, and setuptools' editable
# install always gives one: "Editable installation. Please be careful with folders in your working
# directory with the same name as your package as they may take precedence during imports" — a
# notice, not a problem (here that folder is the package), which a new user would take for one. Only
# that notice is filtered, by how it starts; any other warning or error of the build still shows.
pip_install() {
  PYTHONWARNINGS="${PYTHONWARNINGS:+$PYTHONWARNINGS,}ignore:Editable installation.:UserWarning" \
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@"
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
    pip_install --upgrade pip
    pip_install -e ".${extras:+[$extras]}"
    # A release pyproject.toml now excludes can leave parts behind that conflict with what replaced it
    # (PySide6 6.12.0's separate WebEngine wheel over 6.11's): then the environment is made anew.
    if ! "$venv/bin/python" -m pip check >/dev/null 2>&1; then
      say "the installed packages conflict with each other: making the virtual environment anew"
      rm -rf "$venv"
      python3 -m venv "$venv"
      pip_install --upgrade pip
      pip_install -e ".${extras:+[$extras]}"
    fi
    touch "$stamp"
  fi
}

# The independent CometD client the streaming tests run (tests/cometd_node): installed by npm when
# node is there; without npm the test says why it skips.
install_node_client() {
  command -v npm >/dev/null 2>&1 || { say "no npm: the CometD interoperability test will be skipped"; return 0; }
  [ -d tests/cometd_node/node_modules/cometd-nodejs-client ] && return 0
  say "installing the CometD JavaScript client for the streaming test (npm)"
  npm install --no-audit --no-fund --silent --prefix tests/cometd_node >/dev/null 2>&1 \
    || say "npm could not install it: the CometD interoperability test will be skipped"
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
    install_node_client
    export QT_QPA_PLATFORM=offscreen QTWEBENGINE_CHROMIUM_FLAGS=--no-sandbox
    # Default: the whole suite on both cores; any ARGS replace that (e.g. a single test file).
    # worksteal: a worker that runs out takes half of the other's queue (the slow files cluster).
    [ $# -eq 0 ] && set -- -n 2 --dist worksteal
    exec "$venv/bin/python" -m pytest "$@"
    ;;
  lint)
    install_python_packages test
    "$venv/bin/ruff" check . && "$venv/bin/ruff" format --check . && "$venv/bin/mypy"
    ;;
  anydate)
    install_system_packages
    install_python_packages test
    command -v faketime >/dev/null 2>&1 || { say "anydate needs libfaketime's faketime command (apt-get install faketime)"; exit 1; }
    export QT_QPA_PLATFORM=offscreen QTWEBENGINE_CHROMIUM_FLAGS=--no-sandbox
    [ $# -eq 0 ] && set -- -n 2 --dist worksteal -q -p no:cacheprovider
    # An offset rather than "@instant": every process of the run (xdist workers, the CLI and
    # sandbox processes the tests start) then shares one clock that reaches the instant as the run
    # starts and ticks on from there — across midnight, the month, the year. The monotonic clock
    # stays real: it has no date, and Python's timed waits (Event.wait, Timer) compute their
    # deadlines on it in the kernel, which libfaketime does not see — a faked one waits for hours.
    # packaging/anydate/sitecustomize.py mends the one call libfaketime 0.9.10 then breaks (sleep).
    status=0
    month_end=$(( $(date -u -d "$(date -u -d "$(date -u +%Y-%m-15) +1 month" +%Y-%m-01) 00:00:00" +%s) - 120 ))
    for target in "$month_end" "$(date -u -d '2028-02-29 12:00:00' +%s)" "$(date -u -d "$(date -u +%Y)-12-31 23:59:00" +%s)" \
                  "$(date -u -d '+2 years' +%s)"; do
      offset=$(( target - $(date -u +%s) ))
      say "the suite at $(date -u -d "@$target" '+%Y-%m-%d %H:%M:%S') UTC (faketime +${offset}s)"
      started=$(date +%s)
      if PYTHONPATH="$here/packaging/anydate${PYTHONPATH:+:$PYTHONPATH}" FAKETIME_DONT_FAKE_MONOTONIC=1 \
         faketime -f "+${offset}s" "$venv/bin/python" -m pytest -m "not slow" "$@"; then result=passed; else result=FAILED; status=1; fi
      say "at $(date -u -d "@$target" '+%Y-%m-%d %H:%M'): $result in $(( $(date +%s) - started )) s"
    done
    exit $status
    ;;
  *)
    echo "usage: packaging/dev.sh run|test|lint|anydate [ARGS]" >&2
    exit 2
    ;;
esac
