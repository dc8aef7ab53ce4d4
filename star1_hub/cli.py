"""The `star1` command line: `star1 --help` lists every command.

Each area of the package contributes its commands through a `register(app)` function, so this module stays
a thin table and importing it does not load torch, datasets or the Hub client.

Errors a user can cause (a repo, revision, file or local folder that does not exist, offline without a local
copy, a stage config mismatch, broken YAML, an invalid value, an unreachable endpoint) are reported in one or two
lines on stderr with exit code 2 (`star1_hub.cli_errors`; the project's own are `star1_hub.errors.Star1Error`);
`star1 -v …` adds the traceback. Anything else is a bug and keeps its traceback. Ctrl-C exits 130 with one line
saying what was kept (`star1_hub.interrupt`). Library loggers (httpx, datasets, huggingface_hub, …) only speak
at WARNING, and library warnings a user cannot act on are quiet, unless `-v` is given (`star1_hub.logs`).
"""

from __future__ import annotations

import importlib
import sys
import traceback

import typer
from typer.core import TyperGroup

from star1_hub.logs import configure_logging


class _Star1Group(TyperGroup):
    """The root command group: runs the chosen command and turns user errors into short messages."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:  # Ctrl-C: one line saying what was kept (see star1_hub.interrupt)
            from star1_hub.interrupt import INTERRUPT_EXIT_CODE, interrupt_line

            if ctx.params.get("verbose"):
                traceback.print_exception(exc, file=sys.stderr)
            typer.echo(interrupt_line(exc), err=True)
            raise typer.Exit(INTERRUPT_EXIT_CODE) from None
        except Exception as exc:
            if (type(exc).__module__ or "").split(".")[0] in ("typer", "click"):
                raise  # exits, aborts and usage errors: already handled the command-line way
            from star1_hub.cli_errors import exit_code, explain

            lines = explain(exc)
            if lines is None:
                raise
            if ctx.params.get("verbose"):
                traceback.print_exception(exc, file=sys.stderr)
            for line in lines:
                typer.echo(line, err=True)
            raise typer.Exit(exit_code(exc)) from exc


app = typer.Typer(
    name="star1",
    cls=_Star1Group,
    help="STAR-1 on the Hugging Face Hub: curate, train, evaluate and publish safer reasoning models.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# Modules that define `register(app: typer.Typer) -> None`. Order = order in `star1 --help`.
_COMMAND_MODULES = [
    "star1_hub.embedded_cli",
    "star1_hub.hubserver.cli",
    "star1_hub.data.cli",
    "star1_hub.serve_cli",
    "star1_hub.curate.cli",
    "star1_hub.train.cli",
    "star1_hub.evaluate.cli",
    "star1_hub.space.cli",
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
def _root(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log at DEBUG level (libraries included); show tracebacks of user errors."
    ),
) -> None:
    configure_logging(verbose)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
