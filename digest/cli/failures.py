"""Any failure of a command as one line on stderr and an exit status (README: 0, 1 or 2).

An OS error on a path (a file where a folder should be, no permission, a read-only or
full file system) names the setting whose path it is (settings.path_error).
"""

from __future__ import annotations

import os
import sys
import traceback

import click

from digest.errors import DigestError, path_error
from digest.settings import Settings, path_settings


def report(exc: BaseException, settings: Settings | None, verbose: bool) -> int:
    """Print `exc` as one line (the traceback too with --verbose); the exit status."""
    if isinstance(exc, BrokenPipeError):
        return _reader_left()
    if verbose:
        traceback.print_exception(exc)
    if isinstance(exc, OSError) and not isinstance(exc, ConnectionError):
        exc = path_error(exc, path_settings(settings) if settings else {})
    if isinstance(exc, DigestError):
        kind = "error" if exc.exit_code else "skipped"
        click.echo(f"digest: {kind}: {exc}", err=True)
        return exc.exit_code
    hint = "" if verbose else " (run with --verbose for the traceback)"
    click.echo(f"digest: internal error: {type(exc).__name__}: {exc}{hint}", err=True)
    return 1


def _reader_left() -> int:
    """Whoever read our output stopped (`digest settings | head`): not a failure of ours."""
    # Python would complain again when it flushes stdout at exit: point it at /dev/null.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
