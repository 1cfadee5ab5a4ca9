"""What the command-line tool's modules share (api/cli.py, api/cli_projections.py): the
one-line error, the settings from the command line, and a database error explained."""

from __future__ import annotations

import argparse
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from eventsourcing.persistence import PersistenceError

from api.settings import Settings
from ledger.persistence import redact

log = logging.getLogger("api.cli")


class CliError(Exception):
    """Raised for a failure the tool explains in one line."""


def load_settings(args: argparse.Namespace, **options) -> Settings:
    """Load the settings (options given on the command line win), then set up logging."""
    demo = options.pop("demo", None)
    config = {"database_url": args.database_url, "log_level": args.log_level, "demo": demo}
    settings = Settings.load({k: v for k, v in config.items() if v is not None}, **options)
    logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
    log.debug("settings: %r", settings)
    return settings


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Explain a database that cannot be opened or read in one line, naming it."""
    try:
        yield
    except (PersistenceError, sqlite3.Error, OSError) as error:
        raise CliError(f"cannot use the database at {redact(url)}: {one_line(error)}") from error


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__
