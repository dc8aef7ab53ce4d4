"""The teacher engine: every LLM call of every stage and judge goes through `TeacherEngine`.

    from star1_hub.teacher import ChatRequest, EngineConfig, TeacherEngine
    engine = TeacherEngine(EngineConfig(base_url="http://127.0.0.1:8000/v1", model="smollm2", cache_dir="cache"))
    results = engine.run([ChatRequest(messages=[{"role": "user", "content": "Hi"}])])

Importing this package is cheap; `openai` is loaded when the first request is sent.
"""

from star1_hub.teacher.accounting import DEFAULT_PRICES, StageAccounting
from star1_hub.teacher.engine import TeacherEngine
from star1_hub.teacher.records import (
    FAILURE_REASONS,
    ChatRequest,
    ChatResult,
    EngineConfig,
    UnparseableOutput,
    request_body,
    request_key,
)
from star1_hub.teacher.structured import parse_json_output

__all__ = [
    "DEFAULT_PRICES",
    "FAILURE_REASONS",
    "ChatRequest",
    "ChatResult",
    "EngineConfig",
    "StageAccounting",
    "TeacherEngine",
    "UnparseableOutput",
    "parse_json_output",
    "request_body",
    "request_key",
]
