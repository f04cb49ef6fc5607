"""What is new in the seeds folder since the last run, read once.

A file read before whose (path, size, mtime_ns, inode) is unchanged and whose
article already went out is not opened again, and a listing an earlier run found
all handled is not looked up file by file: a run costs what is new, not what the
folder holds. Many new files are read in DIGEST_WORKERS processes.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path

from digest.errors import SourceError
from digest.intake import files as sources
from digest.records import Article, FileVersion, Reporter, Skipped
from digest.settings import Settings
from digest.store import Store
from digest.summary.pool import Tracker, no_progress, pool_map

HANDLED_LISTING = "handled_listing"  # meta: the last listing whose files were all handled
POOL_MIN_FILES = 64  # reading a file takes about a millisecond: only many are worth a pool


def collect(
    settings: Settings, store: Store, *, now: datetime, reporter: Reporter, record: bool
) -> tuple[list[Article], list[Skipped]]:
    """Read the seed files not yet sent; bad files are reported once and remembered.

    A file read before whose (path, size, mtime_ns, inode) is unchanged and whose
    article already went out is not opened again: a run costs what is new, not
    what the folder holds. `record` remembers this run's files for the next one.
    """
    listed, unlisted = sources.list_files(
        settings.seeds_dir, now=now.timestamp(), settle_seconds=settings.settle_seconds
    )
    key = None if unlisted else _listing_key(listed)
    if key is not None and store.get_meta(HANDLED_LISTING) == key:
        return [], []  # the very files an earlier run found all handled: nothing is new
    articles, bad = _read_new(settings, store, listed, unlisted, now, reporter, record)
    sent = store.sent_ids(articles)
    new = [a for a in articles.values() if a.id not in sent]
    if record and key is not None and not new and not bad:
        store.set_meta(HANDLED_LISTING, key)
    return new, [item for item, _ in bad]


def _listing_key(listed: list[FileVersion]) -> str:
    # A digest of every (path, size, mtime_ns, inode): comparing it costs a tenth of
    # looking each file up in the state database. Paths joined and numbers packed, as the
    # repr of the listing was 3x slower (60 ms of a 20,000-file nothing-new run).
    paths = "\n".join([v.path for v in listed]).encode("utf-8", "surrogateescape")
    numbers = array("q", [n for v in listed for n in (v.size, v.mtime_ns)])
    inodes = array("Q", [v.inode for v in listed])
    key = hashlib.blake2b(paths, digest_size=16)
    for packed in (numbers, inodes):
        key.update(b"\0")
        key.update(packed.tobytes())
    return key.hexdigest()


def _read_new(
    settings: Settings,
    store: Store,
    listed: list[FileVersion],
    unlisted: list[Skipped],
    now: datetime,
    reporter: Reporter,
    record: bool,
) -> tuple[dict[str, Article], list[tuple[Skipped, tuple[int, int]]]]:
    """The articles of the files new or changed since they were read, and the bad files."""
    # (size, mtime_ns) identify the version reported, so a changed file is tried again
    bad = [(item, _lstat_key(item.path)) for item in unlisted]
    bad = [(item, key) for item, key in bad if not store.is_skipped(item.path, *key)]
    done, skipped = store.sent_files(), store.skipped_files()
    fresh = [v for v in listed if v not in done and v[:3] not in skipped]
    results = read_all(
        fresh, max_bytes=settings.max_file_bytes, workers=settings.workers, track=reporter.track
    )
    articles: dict[str, Article] = {}
    read: list[tuple[FileVersion, str]] = []
    for version, (info, got) in zip(fresh, results, strict=True):
        if isinstance(got, str):
            bad.append((Skipped(Path(info.path), got), (info.size, info.mtime_ns)))
            continue
        read.append((version, got.id))
        articles.setdefault(got.id, got)  # the same article under two names is one
    for item, (size, mtime_ns) in bad:
        reporter.say(f"skipped {item.path}: {item.reason}")
        if record:
            store.record_skipped(item.path, size, mtime_ns, item.reason, now)
    if record:
        _remember(store, listed, len(listed) - len(fresh), read)
    return articles, bad


def _remember(
    store: Store, listed: list[FileVersion], unread: int, read: list[tuple[FileVersion, str]]
) -> None:
    """Remember the files read; forget those gone, once rows outnumber the files listed."""
    if read:
        store.remember_files(read)
    if store.file_count() > unread + len(read):
        store.forget_files_except({path for path, *_ in listed})


def _lstat_key(path: Path) -> tuple[int, int]:
    try:
        st = path.lstat()
    except OSError:
        return (0, 0)
    return (st.st_size, st.st_mtime_ns)


def read_all(
    infos: Sequence[FileVersion], *, max_bytes: int, workers: int, track: Tracker = no_progress
) -> Iterator[tuple[FileVersion, Article | str]]:
    """Each file with its article, or the reason it cannot be used, in the order given."""
    results = pool_map(partial(_read_one, max_bytes), infos, workers, POOL_MIN_FILES)
    return zip(track(infos, "Reading articles"), results, strict=True)


def _read_one(max_bytes: int, info: FileVersion) -> Article | str:
    # The reason, not the SourceError: an exception with extra arguments does not unpickle.
    try:
        return sources.read_article(info, max_bytes=max_bytes)
    except SourceError as exc:
        return exc.reason
