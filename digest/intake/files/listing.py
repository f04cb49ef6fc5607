"""Finding article files: which names count, symlink rules, and the settle window."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from digest.errors import SettingsError, SourceError
from digest.intake.files.reading import read_error, suffix_of
from digest.records import FileVersion, Skipped

ARTICLE_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".json"})
# Where intake.feeds.pages writes fetched articles; written atomically, so they need no settling.
FEEDS_FOLDER = "feeds"

# Editor backups, partial downloads and lock files: somebody is still working on these.
_TEMP_NAME = re.compile(r".*(~|\.(tmp|part|partial|crdownload|download|swp|swx))|#.*#|~\$.*", re.I)


_BY_NAME = attrgetter("name")


def list_files(
    seeds_dir: Path, *, now: float, settle_seconds: float
) -> tuple[list[FileVersion], list[Skipped]]:
    """List the article files under `seeds_dir` that are settled, and those that cannot be used.

    Nothing is read, and no `Path` is built per file: cheap for 100,000 files.
    """
    root = seeds_root(seeds_dir)
    listing = _Listing(root, now, settle_seconds, seen={root})
    listing.settled = os.path.join(seeds_dir, FEEDS_FOLDER, "")
    listing.walk(seeds_dir)
    return listing.found, listing.skipped


def seeds_root(seeds_dir: Path) -> Path:
    """The seeds folder resolved, or SettingsError when it is missing or not a folder."""
    try:
        root = seeds_dir.resolve(strict=True)
    except (OSError, RuntimeError):
        raise SettingsError(
            "DIGEST_SEEDS_DIR", str(seeds_dir), "no such folder", "create it or set the setting"
        ) from None
    if not root.is_dir():
        raise SettingsError(
            "DIGEST_SEEDS_DIR",
            str(seeds_dir),
            "not a folder",
            "point it at the article files' folder",
        )
    return root


def file_info(path: Path) -> FileVersion:
    """Describe one file named on the command line, as `list_files` would."""
    try:
        st = path.stat()
    except OSError as exc:
        raise read_error(path, exc) from None
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(str(path), "not a regular file")
    return FileVersion(str(path), st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass
class _Listing:
    root: Path
    now: float
    settle_seconds: float
    seen: set[Path]  # folders already walked, so a link back up cannot loop
    found: list[FileVersion] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    settled: str = "\0"  # files under this path prefix count as settled at once

    def walk(self, folder: Path) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=_BY_NAME)
        except OSError as exc:
            self.skipped.append(Skipped(folder, f"cannot list folder ({exc.strerror or exc})"))
            return
        # Most entries of a big folder are settled article files: they take the short way,
        # one stat and no Path; anything else goes through `visit`.
        found, earliest = self.found, self.now - self.settle_seconds
        if os.path.join(folder, "").startswith(self.settled):
            earliest = float("inf")
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            dot = name.rfind(".")
            if name[dot:].lower() in ARTICLE_SUFFIXES and dot > 0 and not name.startswith("~$"):
                try:
                    st = None if entry.is_symlink() else entry.stat()
                except OSError:
                    st = None
                if st is not None and stat.S_ISREG(st.st_mode) and st.st_mtime <= earliest:
                    found.append(FileVersion(entry.path, st.st_size, st.st_mtime_ns, st.st_ino))
                    continue
            if not _TEMP_NAME.fullmatch(name):
                self.visit(entry)

    def visit(self, entry: os.DirEntry[str]) -> None:
        # No Path per file: with 100,000 files, building them is most of a listing's time.
        suffix = suffix_of(entry.name)
        wanted = suffix in ARTICLE_SUFFIXES
        if entry.is_symlink() and not self.link_inside(
            Path(entry.path), report=wanted or not suffix
        ):
            return
        try:
            st = entry.stat()
        except OSError as exc:
            self.skipped.append(Skipped(Path(entry.path), f"cannot stat ({exc.strerror or exc})"))
            return
        if stat.S_ISDIR(st.st_mode):
            if (real := Path(entry.path).resolve()) not in self.seen:
                self.seen.add(real)
                self.walk(Path(entry.path))
        elif wanted and not stat.S_ISREG(st.st_mode):
            self.skipped.append(Skipped(Path(entry.path), "not a regular file"))
        elif wanted and (
            abs(self.now - st.st_mtime) >= self.settle_seconds
            or entry.path.startswith(self.settled)
        ):
            # A file modified moments ago may still be being written: it waits for the next run.
            self.found.append(FileVersion(entry.path, st.st_size, st.st_mtime_ns, st.st_ino))

    def link_inside(self, path: Path, *, report: bool) -> bool:
        try:
            if path.resolve(strict=True).is_relative_to(self.root):
                return True
            reason = "symlink points outside the seeds folder"
        except FileNotFoundError:
            reason = "broken symlink"
        except (OSError, RuntimeError):
            reason = "symlink loop"
        if report:
            self.skipped.append(Skipped(path, reason))
        return False
