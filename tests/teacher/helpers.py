"""Small helpers shared by the teacher tests."""

from __future__ import annotations

from star1_hub.teacher import ChatRequest, EngineConfig


def echo(body: dict) -> str:
    """Responder: repeat the last user message, so a test can check which request a result belongs to."""
    return "echo: " + body["messages"][-1]["content"]


def questions(n: int, prefix: str = "q") -> list[ChatRequest]:
    """n distinct mild placeholder requests."""
    return [
        ChatRequest(
            messages=[{"role": "user", "content": f"{prefix}{i}"}], params={"max_tokens": 16}, metadata={"id": i}
        )
        for i in range(n)
    ]


def fast_config(base_url: str, **overrides) -> EngineConfig:
    """An EngineConfig tuned for tests: short timeouts and back-off, no progress bar."""
    options = dict(
        base_url=base_url,
        model="scripted-model",
        api_key="test-key",
        concurrency=16,
        timeout_s=2.0,
        max_attempts=6,
        backoff_base_s=0.01,
        backoff_max_s=1.0,
        progress=False,
        stage="test",
    )
    options.update(overrides)
    return EngineConfig(**options)
