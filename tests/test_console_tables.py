"""`fit_table` keeps the names a user types whole at 80 columns, wrapping the rest or switching to one block per row."""

from __future__ import annotations

from rich.console import Console

from star1_hub.console_tables import fit_table

ROWS = [
    {"name": "wildjailbreak_adversarial_harmful", "suite": "safety", "source": "allenai/wildjailbreak [eval]",
     "samples": 250, "description": "WildJailbreak eval, adversarial harmful prompts (shuffle seed 42)"},
    {"name": "gpqa_diamond", "suite": "reasoning", "source": "Idavidrein/gpqa [gpqa_diamond] (train)",
     "samples": 198, "description": "GPQA Diamond, 4 options, letters shuffled per row"},
]  # fmt: skip


def _render(renderable, width: int = 80) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def _lines_with_whole_names(text: str) -> bool:
    return all(any(row["name"] in line for line in text.splitlines()) for row in ROWS)


def test_table_layout_keeps_key_column_whole_and_wraps_the_rest():
    text = _render(fit_table(ROWS, ["name", "suite", "source", "samples"], key_columns=["name"]))
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "┃ name" in text  # a table, not the narrow layout
    assert _lines_with_whole_names(text)
    wide = _render(fit_table(ROWS, ["name", "source"], key_columns=["name"]), width=200)
    assert "allenai/wildjailbreak [eval]" in wide  # cell text is not read as rich markup


def test_narrow_layout_when_the_keys_alone_do_not_fit():
    columns = ["name", "source", "suite", "samples", "description"]
    text = _render(fit_table(ROWS, columns, key_columns=["name", "source"], title="tasks"), width=60)
    lines = text.splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert "┃" not in text and lines[0].strip() == "tasks"
    assert _lines_with_whole_names(text)
    assert any(line.strip().startswith("description") for line in lines)


def test_missing_values_render_empty_and_headers_are_readable():
    text = _render(
        fit_table([{"name": "x"}], ["name", "samples"], key_columns=["name"], headers={"samples": "sample count"})
    )
    assert "sample count" in text and "None" not in text


LONG_ROWS = [{"model": "my-org/" + "SmolLM2-135M-Instruct-STAR1-demo-with-a-long-name-" * 3, "safety": "62.5"}]


def test_into_a_pipe_a_table_takes_its_natural_width_and_cuts_no_name(monkeypatch, capsys):
    """Output that is not a terminal has no edge: rich's 80-column default would fold the id."""
    from star1_hub.console_tables import table_console

    monkeypatch.delenv("COLUMNS", raising=False)
    table_console().print(fit_table(LONG_ROWS, ["model", "safety"], key_columns=["model"]))
    out = capsys.readouterr().out
    assert "┃ model" in out  # a table, not the one-block-per-row layout of a narrow terminal
    assert any(LONG_ROWS[0]["model"] in line and "62.5" in line for line in out.splitlines())


def test_a_set_width_is_still_kept_into_a_pipe(monkeypatch, capsys):
    from star1_hub.console_tables import table_console

    monkeypatch.setenv("COLUMNS", "80")
    table_console().print(fit_table(LONG_ROWS, ["model", "safety"], key_columns=["model"]))
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 80 for line in lines) and "┃" not in "\n".join(lines)
