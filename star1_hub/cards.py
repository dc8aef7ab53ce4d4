"""Render dataset cards, model cards and the leaderboard README from the Jinja templates in `model_cards/`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "model_cards"


@cache
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,  # a missing field is a bug in the caller, never a silent blank
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render_card(template_name: str, **context) -> str:
    """Render `model_cards/<template_name>` with `context`.

    Args:
        template_name: file name inside `model_cards/`, e.g. `"dataset_card.md.jinja"`.
        **context: the template's variables; a missing one raises `jinja2.UndefinedError`.
    """
    return _environment().get_template(template_name).render(**context)
