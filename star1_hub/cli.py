"""The `star1` command line: `star1 --help` lists every command.

Each area of the package contributes its commands through a `register(app)` function, so this module stays
a thin table and importing it does not load torch, datasets or the Hub client.
"""

from __future__ import annotations

import importlib
import logging

import typer

app = typer.Typer(
    name="star1",
    help="STAR-1 on the Hugging Face Hub: curate, train, evaluate and publish safer reasoning models.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# Modules that define `register(app: typer.Typer) -> None`. Order = order in `star1 --help`.
_COMMAND_MODULES = [
    "star1_hub.embedded_cli",
    "star1_hub.hub.cli",
    "star1_hub.data.cli",
    "star1_hub.teacher.cli",
    "star1_hub.curate.cli",
    "star1_hub.train.cli",
    "star1_hub.evaluate.cli",
]

for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # an area not built yet must not break the others
        if exc.name != _name:
            raise
        continue
    _module.register(app)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level.")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
