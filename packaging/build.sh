#!/usr/bin/env bash
# Builds the one-folder app into dist/bigsync-gui/ (Linux here; the same spec on Windows/macOS,
# see docs/packaging.md). Uses the venv packaging/dev.sh made, adding PyInstaller to it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
venv="${BIGSYNC_VENV:-$here/.venv}"
[ -x "$venv/bin/python" ] || { echo "run packaging/dev.sh test (or run) first: it creates $venv" >&2; exit 2; }
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[package]"
"$venv/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$here/dist" --workpath "$here/build/pyinstaller" packaging/bigsync-gui.spec
echo "built: $here/dist/bigsync-gui/bigsync-gui"
