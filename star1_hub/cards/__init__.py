"""Render dataset cards, model cards, the leaderboard README and the Space files from the Jinja templates.

The templates are package data (`star1_hub/cards/templates/`, read with `importlib.resources`, so an installed
wheel renders cards anywhere); the checkout's top-level `model_cards/` is a link to that folder.

Every value a template writes into a table cell passes the filter `cell` (or `code_cell` for a code span, `link`
for a link), from `star1_hub.cards.escape`: no value can add HTML or forge cells. `tests/cards/test_escaping.py`
checks every shipped template for an unescaped cell.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

TEMPLATES_PACKAGE = "star1_hub.cards"
TEMPLATES_FOLDER = "templates"


def template_names() -> list[str]:
    """Names of the shipped templates (e.g. `"model_card.md.jinja"`)."""
    folder = resources.files(TEMPLATES_PACKAGE).joinpath(TEMPLATES_FOLDER)
    return sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".jinja"))


def _load_template(name: str) -> str | None:
    entry = resources.files(TEMPLATES_PACKAGE).joinpath(TEMPLATES_FOLDER, name)
    return entry.read_text(encoding="utf-8") if entry.is_file() else None


@cache
def _environment():
    import jinja2

    from star1_hub.cards.escape import md_cell, md_code_cell, md_link
    from star1_hub.cards.model_card import evaluation_section

    environment = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        undefined=jinja2.StrictUndefined,  # a missing field is a bug in the caller, never a silent blank
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters["to_yaml"] = _to_yaml
    environment.filters["pipeline_order"] = pipeline_order
    environment.filters["cell"] = md_cell
    environment.filters["code_cell"] = md_code_cell
    environment.filters["link"] = md_link
    environment.globals["evaluation_section"] = evaluation_section
    return environment


# Output configs of the curation stages in pipeline order, both paths merged (a repo holds one path:
# collected → classified → reasoned → scored → filtered → default, or rewritten → reasoned → scored → default).
CURATION_CONFIG_ORDER = ("collected", "classified", "rewritten", "reasoned", "scored", "filtered", "default")


def pipeline_order(configs: dict) -> list[tuple[str, object]]:
    """`configs.items()` in curation pipeline order; configs of no known stage follow, by name."""
    rank = {name: i for i, name in enumerate(CURATION_CONFIG_ORDER)}
    return sorted(configs.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


def _to_yaml(value) -> str:
    import yaml

    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False).rstrip("\n")


def render_card(template_name: str, **context) -> str:
    """Render the shipped template `template_name` with `context`.

    Args:
        template_name: file name in `star1_hub/cards/templates/`, e.g. `"dataset_card.md.jinja"`.
        **context: the template's variables; a missing one raises `jinja2.UndefinedError`.

    Raises:
        ValueError: no such template (the message lists the shipped ones).
    """
    import jinja2

    try:
        template = _environment().get_template(template_name)
    except jinja2.TemplateNotFound:
        raise ValueError(f"unknown card template {template_name!r}; choose one of {template_names()}") from None
    return template.render(**context)
