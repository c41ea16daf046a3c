"""What every command of the CLI shares: the one-line failure on stderr, typed errors turned into a
clear paragraph and an exit code, and the profile's connector and engine. Light to import (``--help`` stays
instant): the rest loads inside the functions."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from . import APP_NAME
from .core.problems import EXIT_FAILED


def fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"{APP_NAME}: {message}", file=sys.stderr)
    return code


def run_guarded(action: Callable[[], int]) -> int:
    """Run a command body; typed errors become one clear paragraph and an exit code."""
    from .connectors.errors import ConnectorError
    from .core.errors import CoreError
    from .core.problems import describe

    try:
        return action()
    except (ConnectorError, CoreError) as exc:
        problem = describe(exc)
        return fail(problem.detail, problem.exit_code)
    except KeyboardInterrupt:
        return fail("cancelled.", EXIT_FAILED)


def connector_for(args: argparse.Namespace) -> Any:
    from .core.connections import Connector
    from .core.profile import Profile

    return Connector(Profile.from_option(getattr(args, "profile", None)))


def engine_for(args: argparse.Namespace) -> Any:
    from .core.engine import Engine
    from .core.logs import setup_logging

    connector = connector_for(args)
    setup_logging(connector.profile)
    return Engine(connector)
