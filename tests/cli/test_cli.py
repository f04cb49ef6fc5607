"""The command line: help for every command, exit codes, one-line errors."""

from __future__ import annotations

import json
import random
import shutil
from email import message_from_bytes, policy
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import REAL_SEED, ROOT, SeedWriter, run_cli

from digest.cli.main import cli

COMMANDS = sorted(cli.commands)


def test_every_command_is_covered() -> None:
    assert set(COMMANDS) >= {"run", "preview", "serve", "summarize", "status"}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example_and_is_in_the_readme(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert f"`digest {name}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_option_has_help_text() -> None:
    for name in COMMANDS:
        command = cli.commands[name]
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"digest {name} {param.opts}"


@pytest.mark.parametrize(
    "args", [("run", "--bogus"), ("summarize",), ("nosuchcommand",), ("run", "--to", "")]
)
def test_bad_usage_exits_2_in_one_line(args: tuple[str, ...], tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    result = run_cli(*args)
    assert result.code == 2, result.err
    assert "Traceback" not in result.err


def test_summarize_missing_file_is_one_line_and_others_still_print(tmp_path: Path) -> None:
    shutil.copy2(REAL_SEED, tmp_path / "a.txt")
    result = run_cli("summarize", "missing.txt", "a.txt")
    assert result.code == 1
    (line,) = result.err.strip().splitlines()
    assert "missing.txt" in line
    assert "El Salvador" in result.out


def test_preview_writes_html_and_changes_no_state(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    shutil.copy2(REAL_SEED, tmp_path / "seeds" / "a.txt")
    result = run_cli("preview")
    assert result.code == 0, result.err
    path = Path(result.out.strip())
    assert path.is_file() and path.suffix == ".html"
    assert "El Salvador" in path.read_text(encoding="utf-8")
    assert not (tmp_path / ".digest").exists()


def test_status_masks_the_password(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    result = run_cli("status", env={"DIGEST_SMTP_PASSWORD": "hunter2-secret"})
    assert result.code == 0, result.err
    assert "hunter2-secret" not in result.out + result.err
    assert "smtp_password = ********" in result.out
    assert "pending articles: 0" in result.out


def test_missing_seeds_folder_is_one_line(tmp_path: Path) -> None:
    result = run_cli("run")
    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert "DIGEST_SEEDS_DIR" in line


def test_forced_language_reaches_summarize_and_the_email(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    shutil.copy2(REAL_SEED, tmp_path / "seeds" / "a.txt")
    env = {"DIGEST_LANGUAGE": "de"}
    result = run_cli("summarize", "--json", "seeds/a.txt", env=env)
    assert result.code == 0, result.err
    assert json.loads(result.out)["language"] == "german"
    preview = run_cli("preview", "--json", env=env)
    summary = json.loads(preview.out)["entries"][0]["summary"]
    assert summary == json.loads(result.out)["summary"]  # the email shows what summarize says


def _distinct_article(n: int) -> str:
    """An article of its own words, so no two are copies or reports of one event."""
    pick = random.Random(n)
    words = [
        f"{pick.choice('bcdfgklmnprstv')}{pick.choice('aeiou')}{pick.randrange(10**6)}"
        for _ in range(60)
    ]
    sentences = [" ".join(["The", *words[k * 10 : k * 10 + 10]]) + "." for k in range(6)]
    return json.dumps({"title": f"Report {n:02d} {words[0]}", "text": " ".join(sentences)})


def test_preview_json_describes_the_email_fitted_to_the_size_budget(seeds: SeedWriter) -> None:
    for n in range(40):
        seeds(f"a{n:02d}.json", _distinct_article(n))
    env = {"DIGEST_HTML_BUDGET_KB": "12", "DIGEST_SUMMARIZER": "lead"}
    preview = run_cli("preview", "--json", env=env)
    assert preview.code == 0, preview.err
    listed = json.loads(preview.out)
    dry = run_cli("run", "--dry-run", env=env)
    assert dry.code == 0, dry.err
    (eml,) = Path("outbox").glob("dry-run-*.eml")
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    body = message.get_body(("html",))
    assert body is not None
    html = body.get_content()
    full, more = listed["entries"], listed["more"]
    assert 0 < len(full) < 30  # 30 = DIGEST_MAX_ARTICLES: the budget cut some
    assert len(full) + len(more) + listed["unlisted"] == 40
    assert html.count('class="summary"') == len(full)
    for entry in full:
        assert entry["summary"] and all(s in html for s in entry["summary"])
    more_part = html.split("More stories", 1)[1]
    for title in (item["title"] for item in more):
        assert title in more_part


def test_version_and_the_summary_cache_key_read_one_number() -> None:
    import digest
    from digest.summary import cache as summaries

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.split()[-1] == digest.__version__
    assert summaries.code_version().startswith(f"{digest.__version__}+")
