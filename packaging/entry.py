"""Entry point of the frozen (PyInstaller) app: the same CLI as the `bigsync-gui` script."""

import sys

from bigsync_gui.cli import main

if __name__ == "__main__":
    sys.exit(main())
