"""The `star1` command line: `star1 --help` lists every command.

Each area of the package contributes its commands through a `register(app)` function, so this module stays
a thin table and importing it does not load torch, datasets or the Hub client.

Errors a user can cause (a repo, revision, file or local folder that does not exist, offline without a local
copy, a stage config mismatch, broken YAML, an invalid value, an unreachable endpoint) are reported in one or two
lines on stderr with exit code 2 (`star1_hub.cli_errors`); `star1 -v …` adds the traceback. Anything else is a
bug and keeps its traceback. Library loggers (httpx, datasets, huggingface_hub, …) only speak at WARNING unless
`-v` is given.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback

import typer
from typer.core import TyperGroup

USER_ERROR_EXIT_CODE = 2
QUIET_LIBRARY_LOGGERS = ("httpx", "httpcore", "urllib3", "filelock", "datasets", "huggingface_hub", "fsspec")


class _Star1Group(TyperGroup):
    """The root command group: runs the chosen command and turns user errors into short messages."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if (type(exc).__module__ or "").split(".")[0] in ("typer", "click"):
                raise  # exits, aborts and usage errors: already handled the command-line way
            from star1_hub.cli_errors import explain

            lines = explain(exc)
            if lines is None:
                raise
            if ctx.params.get("verbose"):
                traceback.print_exception(exc, file=sys.stderr)
            for line in lines:
                typer.echo(line, err=True)
            raise typer.Exit(USER_ERROR_EXIT_CODE) from exc


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
    "star1_hub.hub.cli",
    "star1_hub.data.cli",
    "star1_hub.teacher.cli",
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


def configure_logging(verbose: bool) -> None:
    """INFO for star1's own loggers (DEBUG with -v); libraries only at WARNING and Python warnings only with -v.

    Without -v, `datasets`' progress bars (parquet conversion, split generation, `map`) are off, and so are the
    Hub's upload / download bars when stderr is not a terminal (in logs they are one line per update). An
    explicit `HF_DATASETS_DISABLE_PROGRESS_BARS` / `HF_HUB_DISABLE_PROGRESS_BARS` wins. Both libraries read
    these variables when first imported, which happens after this (commands import them lazily).
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for name in QUIET_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # Python warnings (mostly libraries' FutureWarning / DeprecationWarning) go through logging: shown with -v.
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.WARNING if verbose else logging.ERROR)
    if not verbose:
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        if not sys.stderr.isatty():
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


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
