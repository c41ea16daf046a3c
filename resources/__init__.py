"""The app's icons. This folder ships inside the package as ``bigsync_gui.resources`` (mapped in
pyproject.toml); code finds files here through ``bigsync_gui.assets``, never by a path of its own."""
