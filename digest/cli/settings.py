"""`digest settings`: every setting with its value, default and meaning, from the one table."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from digest.settings import MASK, TABLE, Setting, raw_values


@dataclass(frozen=True)
class Shown:
    """One setting as `digest settings` prints it."""

    setting: Setting
    value: str  # masked for a secret; the default's text when unset
    source: str  # "environment", the .env path, or "default"

    def lines(self) -> list[str]:
        row = self.setting
        default = row.default_text or "unset"
        if self.source == "default":
            where = "default" if self.value else "unset"
        else:
            where = f"from {self.source}; default {default}"
        return [f"{row.name}={self.value}  ({where})", f"    {row.meaning}"]


def describe(environ: Mapping[str, str], env_file: Path | None) -> Iterator[Shown]:
    """Every setting with its value and where it came from; secrets masked."""
    values = raw_values(environ, env_file)
    for row in TABLE:
        raw = values.get(row.name)
        if raw is None:
            yield Shown(row, row.default_text, "default")
            continue
        source = "environment" if environ.get(row.name, "").strip() else str(env_file)
        yield Shown(row, MASK if row.secret else raw, source)


def example_file() -> str:
    """A commented `.env` to start from, every setting at its default (this is .env.example)."""
    lines = ["# digest settings. Copy to .env and edit; the real environment wins over this file."]
    for row in TABLE:
        if row.group:
            lines += ["", f"# --- {row.group} ---"]
        shown = "" if row.secret else row.default_text
        tail = f" (e.g. {row.example})" if row.example and not shown else ""
        lines += [f"# {row.meaning}{tail}", f"{row.name}={shown}"]
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--example", is_flag=True, help="Print a commented .env to start from instead.")
@click.pass_obj
def settings(obj: Any, example: bool) -> None:
    """Show every setting: its value, where it came from, its default and meaning.

    Secrets are masked. The values are checked after the list: a bad one is one
    line naming it (exit status 2).

    Example: digest settings --example > .env
    """
    if example:
        click.echo(example_file(), nl=False)
        return
    for shown in describe(os.environ, obj.env_file):
        for line in shown.lines():
            click.echo(line)
    obj.settings()  # warnings (a misspelled name, a readable .env) and the values' checks
