"""End to end through the real CLI: one story, one entry, and no story sent twice."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest
from conftest import SeedWriter, run_cli
from test_stories import BRIDGE, UPDATE, WIRE, edited_copies

pytestmark = pytest.mark.slow  # every test runs the CLI in a child process

ENV = {"DIGEST_WORKERS": "1"}


def seed_json(title: str, paragraphs: list[str], source: str, url: str) -> str:
    return json.dumps(
        {"title": title, "text": "\n\n".join(paragraphs), "source": source, "url": url}
    )


def body_text(eml: Path) -> str:
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return " ".join(part.get_content().split())


def emls(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "outbox").glob("digest-*.eml"))


def preview(tmp_path: Path) -> dict[str, list[dict[str, object]]]:
    result = run_cli("preview", "--json", env=ENV, cwd=tmp_path)
    assert result.code == 0, result.err
    parsed: dict[str, list[dict[str, object]]] = json.loads(result.out)
    return parsed


def test_five_edited_copies_go_out_as_one_entry(tmp_path: Path, seeds: SeedWriter) -> None:
    for n, copy in enumerate(edited_copies()):
        body = "\n\n".join(copy.paragraphs)
        seeds(
            f"copy-{n}.json",
            seed_json(copy.title, [body], f"Outlet {n}", f"https://o{n}.example/w"),
        )
    shown = preview(tmp_path)
    (entry,) = shown["entries"]
    also = cast(list[dict[str, str]], entry["also_reported_by"])
    assert {a["source"] for a in also} | {entry["source"]} == {f"Outlet {n}" for n in range(5)}
    assert shown["sections"] == [{"name": "Top stories", "entries": [entry]}]
    assert {"title", "source", "url", "published", "summary", "rank", "updated"} <= set(entry)
    result = run_cli("run", env=ENV, cwd=tmp_path)
    assert result.code == 0, result.err
    (eml,) = emls(tmp_path)
    text = body_text(eml)
    assert "Also reported by: Outlet" in text and text.count("Reservoir") <= 2


def test_a_sent_story_dropped_again_under_a_new_name_is_not_sent(
    tmp_path: Path, seeds: SeedWriter
) -> None:
    seeds("reservoir.json", seed_json("Reservoir low", WIRE, "Valley Post", "https://v.example/1"))
    first = run_cli("run", env=ENV, cwd=tmp_path)
    assert first.code == 0, first.err
    assert len(emls(tmp_path)) == 1
    copy = edited_copies()[3]
    seeds("wire-copy-renamed.txt", copy.title + "\n\n" + "\n\n".join(copy.paragraphs))
    for _ in range(2):  # and it stays out on the runs after
        again = run_cli("run", env=ENV, cwd=tmp_path)
        assert again.code == 0, again.err
        assert "nothing new" in again.out
        assert len(emls(tmp_path)) == 1


def test_an_updated_version_goes_out_once_marked_updated(tmp_path: Path, seeds: SeedWriter) -> None:
    seeds("reservoir.json", seed_json("Reservoir low", WIRE, "Valley Post", "https://v.example/1"))
    assert run_cli("run", env=ENV, cwd=tmp_path).code == 0
    grown = [*WIRE[:2], *UPDATE, *WIRE[2:]]
    seeds(
        "update.json", seed_json("Drought emergency", grown, "Valley Post", "https://v.example/2")
    )
    seeds(
        "update-copy.json",
        seed_json("Governor acts", [*WIRE, *UPDATE], "Wire", "https://w.example"),
    )
    (entry,) = preview(tmp_path)["entries"]
    assert entry["updated"] is True
    second = run_cli("run", env=ENV, cwd=tmp_path)
    assert second.code == 0, second.err
    text = body_text(emls(tmp_path)[-1])
    assert text.count("[Updated]") == 1 and "Also reported by:" in text
    third = run_cli("run", env=ENV, cwd=tmp_path)
    assert "nothing new" in third.out


def test_two_unrelated_articles_on_one_topic_are_two_entries(
    tmp_path: Path, seeds: SeedWriter
) -> None:
    seeds("water.json", seed_json("Reservoir low", WIRE, "Valley Post", "https://v.example/1"))
    seeds("bridge.json", seed_json("Bridge to go", BRIDGE, "City News", "https://c.example/2"))
    entries = preview(tmp_path)["entries"]
    assert sorted(e["title"] for e in entries) == ["Bridge to go", "Reservoir low"]  # type: ignore[type-var]
    assert all(e["also_reported_by"] == [] for e in entries)
