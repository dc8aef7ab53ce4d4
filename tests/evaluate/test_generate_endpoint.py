"""Endpoint generation is an `LLMTask` run by the teacher engine: per-sample parameters, a truncated output is a
result (scored, counted as truncated), a content-filtered one a generation error, every outcome cached."""

from __future__ import annotations

import dataclasses

from star1_hub.evaluate.generate import generate_endpoint, generation_rows, generation_task
from star1_hub.evaluate.recipe import load_recipe
from star1_hub.evaluate.registry import get_task
from star1_hub.teacher import EndpointConfig, TeacherEngine, run_task
from star1_hub.testing.scripted_server import ScriptedServer


def _work(n: int = 6):
    return [(get_task("demo_math"), [{"id": f"r{i}", "prompt_text": f"placeholder question {i}"} for i in range(n)])]


def test_generations_keep_truncated_outputs_and_count_filtered_ones_as_errors(tmp_path):
    recipe = load_recipe("cpu-demo").model_copy(update={"samples_per_prompt": 2})
    budget = recipe.budget_for(get_task("demo_math"))
    sent = []

    def responder(body):
        sent.append((body["messages"][-1]["content"], body["seed"], body["max_tokens"]))
        return "the answer is 4"

    faults = {"length": 0.4, "content_filter": 0.2}
    with ScriptedServer(responder=responder, faults=faults, seed=2) as server:
        first, accounting = generate_endpoint(_work(), recipe, server.base_url, "scripted-model", tmp_path)
        again, _ = generate_endpoint(_work(), recipe, server.base_url, "scripted-model", tmp_path)
        assert server.request_count == 12  # the second run is read from the cache
    expected = sorted((f"placeholder question {i}", recipe.seed + s, budget) for i in range(6) for s in range(2))
    assert sorted(sent) == expected  # the seed follows the sample index, the budget the task
    assert [(g.row_id, g.sample) for g in first] == [(f"r{i}", s) for i in range(6) for s in range(2)]
    reasons = [g.finish_reason for g in first]
    assert {"stop", "length", "content_filter"} <= set(reasons)
    for g in first:
        if g.finish_reason == "content_filter":
            assert g.error.startswith("content_filter: ") and "content filter" in g.error
        else:  # a cut-off output is a generation like any other
            assert g.error is None and g.text and g.completion_tokens is not None
    assert accounting["failed_by_reason"] == {"content_filter": reasons.count("content_filter")}
    assert accounting["succeeded"] == reasons.count("stop") + reasons.count("length")
    assert [g.cached for g in again] == [True] * 12 and not any(g.cached for g in first)
    assert [dataclasses.replace(g, cached=False) for g in again] == first


def test_a_truncated_output_cached_as_a_failure_by_an_earlier_run_is_served_as_a_generation(tmp_path):
    """Caches written before generation was a task hold a cut-off output as a `length` failure: it is read as the
    generation it is, without sending the request again."""
    recipe = load_recipe("cpu-demo")
    with ScriptedServer(responder=lambda body: "a long answer", faults={"length": 1.0}) as server:
        endpoint = EndpointConfig(base_url=server.base_url, model="scripted-model", output_retries=0)
        endpoint_engine = TeacherEngine(endpoint.engine_config("eval-generate", tmp_path))
        refusing = dataclasses.replace(
            generation_task(recipe, {"demo_math": get_task("demo_math")}), accept_finish=("stop",)
        )
        refused, _ = run_task(generation_rows(_work(3), 1), refusing, endpoint_engine)
        assert refused["error"] == ["eval-generate:length"] * 3  # what the cache held for truncated outputs
        generations, _ = generate_endpoint(_work(3), recipe, server.base_url, "scripted-model", tmp_path)
        assert server.request_count == 3
    assert [(g.error, g.finish_reason, g.cached) for g in generations] == [(None, "length", True)] * 3
    assert all(g.text for g in generations)
