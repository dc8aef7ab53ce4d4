"""The teacher engine: every LLM call of every stage and judge goes through `TeacherEngine`.

    from star1_hub.teacher import EndpointConfig, LLMTask, TeacherEngine, run_task
    endpoint = EndpointConfig.from_mapping({"base_url": "http://127.0.0.1:8000/v1", "model": "smollm2"})
    engine = TeacherEngine(endpoint.engine_config(stage="classify", cache_dir="cache"))
    output, counts = run_task(dataset, task, engine)          # task: an LLMTask (see star1_hub.teacher.task)
    results = engine.run([ChatRequest(messages=[{"role": "user", "content": "Hi"}])])   # or plain requests

Importing this package is cheap; `openai` is loaded when the first request is sent.
"""

from star1_hub.errors import RecipeError, UnparseableOutput
from star1_hub.teacher.accounting import DEFAULT_PRICES, StageAccounting
from star1_hub.teacher.endpoint import (
    RETRY_POLICIES,
    EndpointConfig,
    EngineConfig,
    endpoint_from_flags,
    parse_param_flags,
)
from star1_hub.teacher.engine import TeacherEngine
from star1_hub.teacher.preflight import PreflightError, PreflightReport, preflight
from star1_hub.teacher.records import (
    FAILURE_REASONS,
    ChatRequest,
    ChatResult,
    Reply,
    request_body,
    request_key,
)
from star1_hub.teacher.structured import extract_json_value, strict_json_schema
from star1_hub.teacher.task import LLMTask, TaskCounts, count_errors, run_task

__all__ = [
    "DEFAULT_PRICES",
    "FAILURE_REASONS",
    "RETRY_POLICIES",
    "ChatRequest",
    "ChatResult",
    "EndpointConfig",
    "EngineConfig",
    "LLMTask",
    "PreflightError",
    "PreflightReport",
    "RecipeError",
    "Reply",
    "StageAccounting",
    "TaskCounts",
    "TeacherEngine",
    "UnparseableOutput",
    "count_errors",
    "endpoint_from_flags",
    "extract_json_value",
    "parse_param_flags",
    "preflight",
    "request_body",
    "request_key",
    "run_task",
    "strict_json_schema",
]
