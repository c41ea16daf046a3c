"""The engine's side: settings and profiles, the keyring vault, the SQLite store, the sync engine
(trigger cycle, claims, creation, write-back), the loop and the typed problems the admin sees.

No Qt here: the same code runs headless from the CLI and behind the tray.
"""
