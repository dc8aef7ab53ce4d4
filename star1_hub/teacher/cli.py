"""`star1 serve` — run vLLM's OpenAI-compatible server for the teacher engine.

star1 serve --model embedded --port 8000
"""

from __future__ import annotations

import typer


def serve(
    model: str = typer.Option("embedded", help="'embedded' (SmolLM2-135M-Instruct) or a model directory / Hub id."),
    port: int = typer.Option(8000, help="Port on 127.0.0.1."),
    served_model_name: str = typer.Option("smollm2", help="Model name clients send."),
    max_model_len: int = typer.Option(2048, help="Context length."),
) -> None:
    """Start vLLM on 127.0.0.1, wait until /v1/models answers, and serve until Ctrl-C (then stop it cleanly)."""
    import time

    from star1_hub.teacher.serve import ServeError, start_vllm

    try:
        server = start_vllm(model, port, served_model_name, max_model_len)
    except ServeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"vLLM ready: base_url={server.base_url} model={server.model} (log {server.log_path}); Ctrl-C stops it")
    try:
        while server.process.poll() is None:
            time.sleep(1.0)
        typer.echo(f"error: vLLM exited with code {server.process.returncode}; see {server.log_path}", err=True)
        server.stop(keep_log=True)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        typer.echo("stopping vLLM ...")
    finally:
        server.stop()


def register(app: typer.Typer) -> None:
    """Add the top-level `serve` command."""
    app.command("serve")(serve)
