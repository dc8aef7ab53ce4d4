"""`star1 serve` — run vLLM's OpenAI-compatible server for the teacher engine.

star1 serve --model embedded --port 8000
star1 serve --model Qwen/Qwen2.5-7B-Instruct --recipe paper     # downloaded into the Hub cache on first use

The command sits at the CLI layer, not in `star1_hub.teacher`: `--recipe` sizes the context from an eval recipe,
and the engine (`star1_hub.teacher.serve` starts vLLM) knows nothing of evaluation.
"""

from __future__ import annotations

import typer


def serve(
    model: str = typer.Option(
        "embedded",
        help="'embedded' (SmolLM2-135M-Instruct), a model directory, or a Hub id (org/name[@revision]; downloaded "
        "into the Hub cache first when it is not there).",
    ),
    port: int = typer.Option(8000, help="Port on 127.0.0.1."),
    served_model_name: str = typer.Option(
        None,
        help="Model name clients send (default: the --model id, so `star1 eval run --model` matches; "
        "'smollm2' for the embedded model).",
    ),
    max_model_len: int = typer.Option(
        None,
        help="Context length (default: what --recipe needs: its largest budget + a prompt margin; 2048 for "
        "the embedded model without --recipe).",
    ),
    recipe: str = typer.Option(
        None, "--recipe", help="Eval recipe the server is for (paper, deepseek, cpu-demo or a YAML path)."
    ),
    offline: bool = typer.Option(
        False,
        "--offline",
        help="Never download the model (like HF_HUB_OFFLINE=1): a Hub id must already be in the local Hub cache.",
    ),
) -> None:
    """Start vLLM on 127.0.0.1, wait until /v1/models answers, and serve until Ctrl-C, SIGTERM or SIGHUP (then
    stop it cleanly). A port already in use is an error before anything starts; a Hub model that is not cached is
    downloaded first (unless --offline / HF_HUB_OFFLINE=1), then vLLM starts offline on it."""
    import time

    from star1_hub.teacher.serve import ServeError, StopRequested, start_vllm, stop_on_signals

    if served_model_name is None:
        served_model_name = "smollm2" if model == "embedded" else model
    if max_model_len is None:
        from star1_hub.evaluate.preflight import required_context
        from star1_hub.evaluate.recipe import load_recipe

        if recipe is not None or model != "embedded":
            max_model_len = required_context(load_recipe(recipe or "paper"))
        else:
            max_model_len = 2048

    with stop_on_signals():
        try:  # the port is checked first, then a missing Hub model is downloaded (one line says so), then vLLM
            server = start_vllm(model, port, served_model_name, max_model_len, offline=offline, announce=typer.echo)
        except ServeError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from exc
        except StopRequested:
            typer.echo("stopped during start-up", err=True)
            raise typer.Exit(1) from None
        try:
            typer.echo(
                f"vLLM ready: base_url={server.base_url} model={server.model} (log {server.log_path}); "
                "Ctrl-C or SIGTERM stops it"
            )
            while server.process.poll() is None:
                time.sleep(1.0)
            typer.echo(f"error: vLLM exited with code {server.process.returncode}; see {server.log_path}", err=True)
            server.stop(keep_log=True)
            raise typer.Exit(1)
        except (KeyboardInterrupt, StopRequested):
            typer.echo("stopping vLLM ...")
        finally:
            server.stop()


def register(app: typer.Typer) -> None:
    """Add the top-level `serve` command."""
    app.command("serve")(serve)
