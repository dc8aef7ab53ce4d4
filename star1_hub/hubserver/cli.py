"""star1 hub serve [--tokens FILE] [--host 127.0.0.1] [--port 8811] [--data-dir DIR]; star1 hub gc

`star1 hub` commands: run the local Hub-protocol server that `huggingface_hub` / `datasets` talk to offline, and
collect the blobs no commit references.
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
    from star1_hub.hubserver.limits import Limits

    defaults = Limits()
    hub_app = typer.Typer(help="Run the local Hugging Face Hub-protocol server.", no_args_is_help=True)

    @hub_app.command("serve")
    def serve(
        host: str = typer.Option(
            "127.0.0.1", help="Interface to bind. Anything but loopback needs --tokens (see README 'shared Hub')."
        ),
        port: int = typer.Option(8811, help="TCP port (0 picks a free one)."),
        data_dir: Path | None = typer.Option(
            None, "--data-dir", help="Where repos persist (default: $STAR1_HOME/hub). Reused across restarts."
        ),
        tokens: Path | None = typer.Option(
            None,
            "--tokens",
            help="YAML file of tokens: {tokens: [{token, user, role: read|write|admin, orgs: [...]}]}. "
            "Without it the server makes one admin token (printed once, kept in DATA_DIR/admin-token, 0600).",
        ),
        public_url: str | None = typer.Option(
            None, "--public-url", help="Base URL clients use (e.g. the https:// URL of a reverse proxy in front)."
        ),
        max_json_bytes: int = typer.Option(defaults.max_json_bytes, help="Largest JSON request body."),
        max_inline_file_bytes: int = typer.Option(
            defaults.max_inline_file_bytes, help="Largest file sent inline in a commit; bigger ones go through LFS."
        ),
        socket_timeout: float = typer.Option(defaults.socket_timeout_s, help="Seconds before an idle socket closes."),
        max_connections: int = typer.Option(defaults.max_connections, help="Connections served at once."),
        max_connections_per_address: int = typer.Option(
            defaults.max_connections_per_address,
            help="Connections one client address may hold at once (behind a proxy: set it to --max-connections).",
        ),
        header_timeout: float = typer.Option(
            defaults.header_timeout_s,
            help="Seconds a client has, from a request's first byte, to send its line and headers in full.",
        ),
        min_body_rate: int = typer.Option(
            defaults.min_body_rate, help="Bytes/s a request body must average after a grace period (0: no minimum)."
        ),
    ) -> None:
        """Serve a local Hub until Ctrl-C and print the env vars a client must export first."""
        from rich.console import Console

        from star1_hub.home import star1_home
        from star1_hub.hubserver.auth import TokenError
        from star1_hub.hubserver.server import make_server
        from star1_hub.ports import check_port_free

        console = Console()
        data_dir = data_dir or star1_home() / "hub"
        check_port_free(port, host)  # a busy port: the same one line as every `serve` command (exit 2)
        try:
            limits = Limits(
                max_json_bytes=max_json_bytes,
                max_inline_file_bytes=max_inline_file_bytes,
                socket_timeout_s=socket_timeout,
                max_connections=max_connections,
                max_connections_per_address=max_connections_per_address,
                header_timeout_s=header_timeout,
                min_body_rate=min_body_rate,
            )
            server = make_server(data_dir, host, port, tokens, public_url, limits)
        except TokenError as exc:
            raise typer.BadParameter(str(exc), param_hint="--tokens") from None
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--host / --tokens / limits") from None
        except OSError as exc:
            raise typer.BadParameter(
                f"cannot bind {host}:{port}: {exc}; pick another --port", param_hint="--port"
            ) from None
        console.print(f"[bold green]local Hub[/] serving [bold]{server.public_url}[/] from {data_dir}")
        console.print("Export in the client shell (before importing huggingface_hub / datasets):")
        exports = {"HF_ENDPOINT": server.public_url, "HF_HUB_DISABLE_XET": "1"}
        if server.admin_token:
            exports["HF_TOKEN"] = server.admin_token
        for key, value in exports.items():
            console.print(f"  export {key}={value}", highlight=False, soft_wrap=True)
        if server.admin_token:
            console.print(
                f"(an admin token made for this data dir, also in {Path(data_dir) / 'admin-token'}; "
                "commits are recorded as 'star1-local')"
            )
        else:
            console.print(f"  export HF_TOKEN=<your token from {tokens}>", highlight=False)
        console.print("Ctrl-C to stop.")
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # `kill` stops as cleanly as Ctrl-C
        try:
            server.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            console.print("stopping local Hub")
        finally:
            server.server_close()

    @hub_app.command("gc")
    def gc(
        data_dir: Path | None = typer.Option(
            None, "--data-dir", help="The Hub's data dir (default: $STAR1_HOME/hub)."
        ),
        min_age: float = typer.Option(
            3600.0, "--min-age", help="Keep unreferenced blobs younger than this many seconds (uploads in flight)."
        ),
        dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be removed."),
    ) -> None:
        """Remove blobs no commit references (safe while a server runs: commits in flight are waited for)."""
        from rich.console import Console

        from star1_hub.home import star1_home
        from star1_hub.hubserver.store import HubStore

        data_dir = data_dir or star1_home() / "hub"
        if not (data_dir / "blobs").is_dir():
            raise typer.BadParameter(f"{data_dir} is not a local Hub data dir (no blobs/)", param_hint="--data-dir")
        report = HubStore(data_dir).collect_garbage(grace_s=min_age, dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        Console().print(
            f"local Hub gc: {verb} {report.blobs_removed} unreferenced blobs ({report.bytes_removed} bytes); "
            f"kept {report.blobs_kept} referenced and {report.blobs_too_young} younger than {min_age:.0f}s; "
            f"removed {report.temp_files_removed} stale temp files",
            highlight=False,
        )

    app.add_typer(hub_app, name="hub")
