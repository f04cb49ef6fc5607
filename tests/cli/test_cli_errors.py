"""What the operator meets first: OS errors named by setting, exit codes as README says."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REAL_SEED, CliResult, Handler, StartServer, run_cli

pytestmark = pytest.mark.slow  # every test here runs the real CLI in a child process


def _one_seed(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    shutil.copy2(REAL_SEED, tmp_path / "seeds" / "a.txt")  # keeps its old mtime: settled


def _one_line(result: CliResult) -> str:
    (line,) = result.err.splitlines()
    assert "Traceback" not in line and "internal error" not in line
    return line


@pytest.mark.parametrize(
    ("name", "value"), [("DIGEST_OUTBOX_DIR", "afile/outbox"), ("DIGEST_STATE_DIR", "afile/state")]
)
def test_a_path_through_a_file_is_one_line_naming_the_setting(
    tmp_path: Path, name: str, value: str
) -> None:
    _one_seed(tmp_path)
    (tmp_path / "afile").write_text("not a folder\n")
    result = run_cli("run", env={name: value})
    assert result.code == 2
    line = _one_line(result)
    assert f"{name}={value!r}" in line and "a file, not a folder" in line
    assert f"point {name} at a folder" in line


def test_a_bad_seeds_folder_stops_the_run_before_any_state_is_made(tmp_path: Path) -> None:
    (tmp_path / "seeds").write_text("a file where the folder should be\n")
    result = run_cli("run")
    assert result.code == 2
    assert "DIGEST_SEEDS_DIR='seeds': not a folder" in _one_line(result)
    assert not (tmp_path / ".digest").exists() and not (tmp_path / "outbox").exists()


def _in_small_mount(tmp_path: Path, folder: str, how: str, *args: str) -> CliResult:
    """Run the CLI with `folder` on its own 64 KiB tmpfs, filled up (`full`) or read-only (`ro`).

    A private user and mount namespace (util-linux `unshare`) gives the child a real
    file system that is full or read-only, which no permission bit can fake for root.
    """
    mount = tmp_path / folder
    mount.mkdir()
    prepare = {
        "full": f"dd if=/dev/zero of={mount}/filler bs=4k count=64 2>/dev/null;",
        "ro": f"mkdir -p {mount}/inside; mount -o remount,ro {mount};",
    }[how]
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "digest", *args))
    script = f"mount -t tmpfs -o size=64k tmpfs {mount} && {prepare} exec {command}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env |= {"DIGEST_STATE_DIR": f"{folder}/inside" if how == "ro" else ".digest"}
    proc = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
        env=env | ({"DIGEST_OUTBOX_DIR": folder} if how == "full" else {}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def test_a_full_disk_is_one_line_naming_the_setting_and_exit_1(tmp_path: Path) -> None:
    _one_seed(tmp_path)
    result = _in_small_mount(tmp_path, "outbox", "full", "run")
    assert result.code == 1, result.err
    line = _one_line(result)
    assert "DIGEST_OUTBOX_DIR='outbox'" in line and "the disk is full" in line


def test_a_read_only_state_folder_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    _one_seed(tmp_path)
    result = _in_small_mount(tmp_path, "state", "ro", "run")
    assert result.code == 2, result.err
    line = _one_line(result)
    assert "DIGEST_STATE_DIR='state/inside'" in line and "read-only file system" in line


def test_bad_feed_and_subscriber_commands_exit_2_as_readme_says(tmp_path: Path) -> None:
    cases = [
        ("feeds", "add", "ftp://files.example.org/feed.xml"),
        ("feeds", "remove", "https://nope.example.org/feed"),
        ("subscribers", "remove", "nobody@example.org"),
        ("subscribers", "pause", "nobody@example.org"),
    ]
    for args in cases:
        result = run_cli(*args)
        assert result.code == 2, (args, result.err)
        assert args[-1] in _one_line(result)


def test_feeds_import_names_each_skipped_outline(tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<opml version="2.0"><body><outline text="Folder">'
        '<outline text="Good" type="rss" xmlUrl="https://good.example.org/feed"/>'
        '<outline text="Old FTP" type="rss" xmlUrl="ftp://files.example.org/feed.xml"/>'
        '<outline text="No address" type="rss" htmlUrl="https://site.example.org/"/>'
        '<outline text="An empty folder"/>'
        "</outline></body></opml>",
        encoding="utf-8",
    )
    result = run_cli("feeds", "import", str(opml))
    assert result.code == 1
    assert result.out == "imported 1 new feed(s), 0 already polled, 2 skipped\n"
    skipped = result.err.splitlines()
    assert len(skipped) == 2
    assert any("ftp://files.example.org/feed.xml" in s and "not an http(s)" in s for s in skipped)
    assert any("'No address'" in s and "no xmlUrl" in s for s in skipped)
    assert "good.example.org" in run_cli("feeds", "list").out


def test_smtp_security_hints_lead_to_none_for_a_plain_relay_and_a_stuck_queue_is_said(
    tmp_path: Path, plain_server: StartServer
) -> None:
    _one_seed(tmp_path)
    handler = Handler()
    port = plain_server(handler)  # a local relay: no TLS at all
    env = {"DIGEST_SMTP_HOST": "127.0.0.1", "DIGEST_SMTP_PORT": str(port)}
    env |= {"DIGEST_SMTP_ATTEMPTS": "1", "DIGEST_SMTP_TIMEOUT": "5"}
    hints = []
    for security in ("starttls", "ssl"):
        result = run_cli("run", env=env | {"DIGEST_SMTP_SECURITY": security})
        assert result.code == 1
        hints.append(result.err)
        assert "nothing new to send" not in result.out  # a message is still queued
    assert all("DIGEST_SMTP_SECURITY=none" in h or "or none for a local" in h for h in hints)
    assert "queued message still waits" in result.out
    done = run_cli("run", env=env | {"DIGEST_SMTP_SECURITY": "none"})
    assert done.code == 0, done.err
    assert len(handler.messages) == 1


def test_output_piped_into_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    # `digest settings | head -1`: head leaves after one line and the pipe breaks under us.
    command = f"{shlex.quote(sys.executable)} -m digest settings | head -1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")},
        timeout=60,
    )
    assert done.stdout.startswith("DIGEST_SEEDS_DIR="), done.stdout
    assert "error" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
