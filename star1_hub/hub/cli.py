"""star1 hub serve --host 127.0.0.1 --port 8811 --data-dir DIR

`star1 hub` commands: run the local Hub-protocol server that `huggingface_hub` / `datasets` talk to offline.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import typer

logger = logging.getLogger(__name__)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    """Add the `hub` sub-command group to the `star1` app."""
    hub_app = typer.Typer(help="Run the local Hugging Face Hub-protocol server.", no_args_is_help=True)

    @hub_app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to bind; keep 127.0.0.1 unless you mean to share it."),
        port: int = typer.Option(8811, help="TCP port (0 picks a free one)."),
        data_dir: Path | None = typer.Option(
            None, "--data-dir", help="Where repos persist (default: $STAR1_HOME/hub). Reused across restarts."
        ),
    ) -> None:
        """Serve a local Hub until Ctrl-C and print the env vars a client must export first."""
        from rich.console import Console

        from star1_hub.home import star1_home
        from star1_hub.hub.server import make_server

        console = Console()
        data_dir = data_dir or star1_home() / "hub"
        try:
            server = make_server(data_dir, host, port)
        except OSError as exc:
            raise typer.BadParameter(
                f"cannot bind {host}:{port}: {exc}; pick another --port", param_hint="--port"
            ) from None
        console.print(f"[bold green]local Hub[/] serving [bold]{server.endpoint}[/] from {data_dir}")
        console.print("Export in the client shell (before importing huggingface_hub / datasets):")
        exports = {"HF_ENDPOINT": server.endpoint, "HF_HUB_DISABLE_XET": "1", "HF_TOKEN": "local"}
        for key, value in exports.items():
            console.print(f"  export {key}={value}", highlight=False, soft_wrap=True)
        console.print("(any token works; commits are recorded as 'star1-local')")
        console.print("Ctrl-C to stop.")
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # `kill` stops as cleanly as Ctrl-C
        try:
            server.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            console.print("stopping local Hub")
        finally:
            server.server_close()

    app.add_typer(hub_app, name="hub")
