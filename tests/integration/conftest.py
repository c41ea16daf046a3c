"""Fixtures for the engine tests: ``connected_engine`` and the keyring file it uses (engine_fixtures.py)."""

from __future__ import annotations

from engine_fixtures import connected_engine, file_keyring  # noqa: F401  (fixtures)
