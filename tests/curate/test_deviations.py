"""docs/deviations.md and the code stay in step: every switch the table names exists."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest
import typer

TABLE = Path(__file__).resolve().parents[2] / "docs" / "deviations.md"
HEADER = "| where | paper's behaviour | our default | why | switch that restores the original |"


def table_rows() -> list[list[str]]:
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        rows.append(cells)
    return rows


def cli_options() -> set[str]:
    """Every option name of every `star1` command and of the build scripts."""
    from star1_hub.cli import app

    names: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            names.update(opt for opt in (*param.opts, *param.secondary_opts) if opt.startswith("--"))
        if hasattr(command, "list_commands"):  # a group; through its API, as the root group loads areas lazily
            ctx = typer.Context(command)
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name))

    walk(typer.main.get_command(app))
    scripts = Path(__file__).resolve().parents[2] / "dataset_scripts"
    for script in scripts.glob("*.py"):
        names.update(re.findall(r"add_argument\(\s*\"(--[a-z-]+)\"", script.read_text(encoding="utf-8")))
    return names


def yaml_key_exists(dotted: str) -> bool:
    from star1_hub.curate.options import StageOptions
    from star1_hub.teacher.endpoint import EndpointConfig

    section, _, key = dotted.partition(".")
    if section == "options":
        return key in {f.name for f in dataclasses.fields(StageOptions)}
    if section in ("classifier", "teacher", "judge", "rewriter"):
        return key in {*EndpointConfig.field_names(), "retry_policy"}
    source = Path(__file__).resolve().parents[2]
    # other sections (collect, recipes, ...): the key must be read somewhere in the package or the build scripts
    texts = [p.read_text(encoding="utf-8") for p in (source / "star1_hub").rglob("*.py")]
    texts += [p.read_text(encoding="utf-8") for p in (source / "dataset_scripts").glob("*.py")]
    return any(f'"{key}"' in text or f"'{key}'" in text or f" {key}:" in text for text in texts)


def test_table_has_rows_with_five_filled_cells():
    rows = table_rows()
    assert len(rows) >= 5
    for row in rows:
        assert len(row) == 5 and all(row), row


@pytest.mark.parametrize("row", table_rows(), ids=lambda row: row[0])
def test_every_named_switch_exists(row):
    assert len(row) == 5, f"{row[0]}: {len(row)} cells; the table has 5 columns (the last names the switch)"
    switch = row[4]
    flags = re.findall(r"`(--[a-z][a-z0-9-]*)", switch)
    keys = re.findall(r"YAML `([a-z_]+\.[a-z_]+)`", switch) + re.findall(r", `([a-z_]+\.[a-z_]+)`", switch)
    if not flags and not keys:
        assert switch.startswith("—") and len(switch) > 5, f"{row[0]}: name a switch, or write '— (why)'"
        return
    known = cli_options()
    for flag in flags:
        assert flag in known, f"{row[0]}: {flag} is not an option of any star1 command or build script"
    for key in keys:
        assert yaml_key_exists(key), f"{row[0]}: YAML key {key} is not read anywhere"


def test_paper_defaults_of_the_curation_stages():
    """The defaults the table does not list are the paper's."""
    from star1_hub.curate import reason, rewrite, score
    from star1_hub.curate.options import StageOptions
    from star1_hub.curate.stage import get_stage
    from star1_hub.teacher.endpoint import RETRY_POLICIES

    assert reason.DEFAULT_PARAMS == {"temperature": 0.6, "top_p": 0.7, "max_tokens": 8000}
    assert StageOptions().think_instruction is False
    assert get_stage("reason").endpoint_defaults == RETRY_POLICIES["paper-r1"]
    assert RETRY_POLICIES["paper-r1"]["max_attempts"] == 10
    assert "temperature" not in rewrite.DEFAULT_PARAMS and rewrite.DEFAULT_PARAMS["max_tokens"] == 1024
    assert score.DEFAULT_PARAMS["max_tokens"] == 1024
