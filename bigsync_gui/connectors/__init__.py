"""Talking to Salesforce and BigTime: OAuth, the two API clients, one HTTP policy.

No Qt, and nothing else of ours is imported here: typed errors are defined in ``errors`` and a
rotated token is handed back through a callback, so the same code runs headless and in the GUI.
"""
