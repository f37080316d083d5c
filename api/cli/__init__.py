"""The ``flopex`` command line.

Each command lives in its own module of this package and exposes a click command named
``command``; the group below collects them so that adding a command never edits this file.
Command modules import heavy libraries (QuantLib, pandas, the database) inside their callbacks so
that ``flopex --help`` stays instant.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import PackageNotFoundError, version
from typing import IO, Any

import click


def _version() -> str:
    try:
        return version("flopex")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


class UserError(click.ClickException):
    """A mistake the user can fix: printed as one ``error: ...`` line, exit status 1."""

    def format_message(self) -> str:
        return self.message

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="flopex")
def main() -> None:
    """flopex: an open exchange and pricing engine for GPU compute."""


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        main.add_command(module.command)


_register_commands()
