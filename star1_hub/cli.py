"""The `star1` command line: `star1 --help` lists every command.

Each area of the package contributes its commands through a `register(app)` function, and `_COMMANDS` names
which area module registers which command. The table is lazy: importing this module loads no area, `star1 <cmd>`
imports only the area of `<cmd>` (so `star1 hub serve` does not load the curation stages, numpy or pydantic), and
`star1 --help` (or an unknown command, for the suggestion) loads them all to list every command with its help.

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
import typer.main
from typer.core import TyperGroup

from star1_hub.logs import configure_logging

# Command name → the module whose `register(app: typer.Typer) -> None` adds it. Order = order in `star1 --help`.
_COMMANDS = {
    "serve": "star1_hub.serve_cli",
    "train": "star1_hub.train.cli",
    "model": "star1_hub.embedded_cli",
    "hub": "star1_hub.hubserver.cli",
    "data": "star1_hub.data.cli",
    "curate": "star1_hub.curate.cli",
    "eval": "star1_hub.evaluate.cli",
    "leaderboard": "star1_hub.space.cli",
}


def _import_area(name: str):
    """The area module, or None when it is not built (an area not built yet must not break the others)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


class _Star1Group(TyperGroup):
    """The root command group: loads a command's area when the command is asked for (`_COMMANDS`), runs it and
    turns user errors into short messages."""

    def _load(self, names) -> None:
        loaded = self.__dict__.setdefault("_loaded_areas", set())
        for module_name in dict.fromkeys(_COMMANDS[name] for name in names):
            if module_name in loaded:
                continue
            loaded.add(module_name)
            module = _import_area(module_name)
            if module is None:
                continue
            area = typer.Typer()
            module.register(area)
            for name, command in typer.main.get_group(area).commands.items():
                if _COMMANDS.get(name) != module_name:
                    raise RuntimeError(f"{module_name} registers {name!r}; add it to star1_hub.cli._COMMANDS")
                self.commands[name] = command

    def list_commands(self, ctx) -> list[str]:
        self._load(_COMMANDS)
        return [name for name in _COMMANDS if name in self.commands]

    def get_command(self, ctx, cmd_name: str):
        self._load([cmd_name] if cmd_name in _COMMANDS else _COMMANDS)  # unknown: all, for "Did you mean"
        return self.commands.get(cmd_name)

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
