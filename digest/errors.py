"""The one root error and its subclasses; each message says what to do next."""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from pathlib import Path


class DigestError(Exception):
    """Something the operator can fix; the CLI prints it as one line."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}; {self.hint}"
        return self.message


class SettingsError(DigestError):
    """A setting has a value we cannot use (exit status 2)."""

    exit_code = 2

    def __init__(self, name: str, value: str, why: str, hint: str | None = None) -> None:
        shown = value if len(value) <= 80 else value[:77] + "..."
        super().__init__(f"{name}={shown!r}: {why}", hint)
        self.name = name
        self.value = value


class UsageError(DigestError):
    """The command line asks for something that cannot be done (exit status 2)."""

    exit_code = 2


class SourceError(DigestError):
    """One article file cannot be used; the run skips it and goes on."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class PathError(DigestError):
    """A folder or file a setting names cannot be used: a file in the way, no permission,
    a read-only or full file system. Exit 2 when the setting must change, 1 when the disk."""

    def __init__(self, message: str, hint: str, *, exit_code: int) -> None:
        super().__init__(message, hint)
        self.exit_code = exit_code


_WHY = {
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "point {name} at a folder"),
    errno.EISDIR: ("a folder where a file should be", "point {name} at a file"),
    errno.EACCES: ("permission denied", "let this user write there, or point {name} elsewhere"),
    errno.EPERM: ("permission denied", "let this user write there, or point {name} elsewhere"),
    errno.EROFS: ("a read-only file system", "point {name} at a writable folder"),
    errno.ENOSPC: ("the disk is full", "free some space there, then run again"),
    errno.EDQUOT: ("the disk quota is used up", "free some space there, then run again"),
}


def path_error(exc: OSError, paths: Mapping[str, Path]) -> PathError:
    """One line for an OS error on a path: the setting whose path it is, why, what to do.

    `paths` are the settings that name a folder or file (settings.path_settings). Exit
    status 2 when the setting must change, 1 when the disk is full (the run failed).
    """
    where = exc.filename if isinstance(exc.filename, str) else None
    name = _owner(where, paths) if where else None
    why, hint = _WHY.get(exc.errno or 0, (exc.strerror or str(exc), "check {name}"))
    code = 1 if exc.errno in (errno.ENOSPC, errno.EDQUOT) else 2
    if name is None:
        about = f"{where}: " if where else ""
        return PathError(f"{about}{why}", hint.format(name="the path"), exit_code=code)
    value = str(paths[name])
    shown = f"{name}={value!r}" + (f" ({where})" if where != value else "")
    return PathError(f"{shown}: {why}", hint.format(name=name), exit_code=code)


def _owner(where: str, paths: Mapping[str, Path]) -> str | None:
    """The setting whose path `where` lies in (the deepest, when one is inside another)."""
    target = os.path.abspath(where)
    found = []
    for name, path in paths.items():
        base = os.path.abspath(path)
        if target == base or target.startswith(base.rstrip(os.sep) + os.sep):
            found.append((len(base), name))
    return max(found)[1] if found else None


class StateError(DigestError):
    """The state database cannot be opened or written."""


class LockBusyError(DigestError):
    """Another digest run holds the lock; this run skips (not a failure: the other sends)."""

    exit_code = 0


class TemplateError(DigestError):
    """A template is missing or does not render."""


class DeliveryError(DigestError):
    """The SMTP server could not be reached or refused the message.

    `permanent` means trying again in this run will not help (a setting is
    wrong); the message still stays queued for the next run.
    """

    def __init__(self, message: str, hint: str | None = None, *, permanent: bool = False) -> None:
        super().__init__(message, hint)
        self.permanent = permanent


# --- feeds and pages (digest.intake.fetch, digest.intake.feeds.poll) -------------------------


class FetchError(DigestError):
    """A feed or page could not be had; the run reports it in one line and goes on."""

    def __init__(self, url: str, reason: str, hint: str | None = None) -> None:
        super().__init__(f"{url}: {reason}", hint)
        self.url = url
        self.reason = reason


class FetchRefused(FetchError):
    """The link is not fetched at all: not http/https, or a private or loopback address."""


class FetchTimeout(FetchError):
    """No complete answer within DIGEST_FETCH_TIMEOUT."""


class FetchConnectionError(FetchError):
    """The name did not resolve, the connection failed or broke, or TLS failed."""


class FetchProtocolError(FetchError):
    """The server's answer is unusable (too many redirects, a body that does not decode)."""


class FeedError(DigestError):
    """A feed command cannot be done (unknown feed, not an http(s) URL, unreadable OPML file).

    Bad usage (exit status 2); a feed that fails while polling is reported, never raised.
    """

    exit_code = 2
