"""`star1 leaderboard show|space|serve`: the leaderboard dataset in the terminal, as a Hub Space, locally."""

from __future__ import annotations

import typer

leaderboard_app = typer.Typer(
    help="The STAR-1 leaderboard: the <org>/star1-leaderboard dataset and its Gradio Space.", no_args_is_help=True
)

ORG_HELP = "Hub org/user that owns star1-leaderboard."


@leaderboard_app.command("show")
def leaderboard_show(
    org: str = typer.Option(..., "--org", help=ORG_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as a JSON list (for scripts)."),
) -> None:
    """Print the leaderboard dataset `<org>/star1-leaderboard` (full model ids and revisions)."""
    from star1_hub.leaderboard import show

    show(org, as_json=as_json)


@leaderboard_app.command("space")
def leaderboard_space(
    org: str = typer.Option(..., "--org", help=ORG_HELP),
    space: str = typer.Option(None, "--space", help="Space id ORG/NAME (default: <org>/star1-leaderboard-space)."),
) -> None:
    """Push the leaderboard Space (Gradio app, README front matter, requirements) in one commit.

    On huggingface.co it prints the Space's page; on a Hub that does not run Spaces (a local one), the command
    that serves the same app locally."""
    from star1_hub.space.publish import push_space, where_to_see

    space_id = push_space(org, space)
    typer.echo(where_to_see(org, space_id))


@leaderboard_app.command("serve")
def leaderboard_serve(
    org: str = typer.Option(..., "--org", help=ORG_HELP),
    port: int = typer.Option(7860, "--port", help="Port on 127.0.0.1."),
) -> None:
    """Run the Space's app locally on 127.0.0.1 against the current Hub (HF_ENDPOINT); Ctrl-C stops it."""
    from star1_hub.ports import check_port_free
    from star1_hub.space.publish import serve

    check_port_free(port)  # a busy port: the same one line as every `serve` command (exit 2), before Gradio starts
    # a missing leaderboard: `serve` exits 2 before the line that says it is served
    serve(
        org, port=port, announce=lambda: typer.echo(f"leaderboard of {org} at http://127.0.0.1:{port}/ (Ctrl-C stops)")
    )


def register(app: typer.Typer) -> None:
    """Add `star1 leaderboard` to the top-level app."""
    app.add_typer(leaderboard_app, name="leaderboard")
