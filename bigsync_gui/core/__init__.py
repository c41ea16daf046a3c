"""The engine's side: settings and paths, the secrets vault, (later) the store and the sync.

No Qt here: the same code runs headless from the CLI and behind the tray.
"""
