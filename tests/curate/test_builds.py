"""`dataset_scripts/build_*.py` logic: YAML → chained stages → tagged repos (scripted server, local Hub)."""

from __future__ import annotations

import pytest
import yaml

from star1_hub.curate.builds import BuildConfigError, build_benign915, build_star1, load_build_config
from star1_hub.testing.scripted_server import ScriptedServer
from tests.plugins.curate import StageResponder


def write_config(path, **config):
    path.write_text(yaml.safe_dump(config))
    return load_build_config(path)


def test_star1_then_benign_build_from_yaml(questions_repo, curate_repo, tmp_path):
    from datasets import load_dataset
    from huggingface_hub import HfApi

    star41k, star1, benign = curate_repo("b41k"), curate_repo("b1"), curate_repo("b915")
    with ScriptedServer(responder=StageResponder(low_score_every=4), served_models=["scripted"]) as server:
        block = {"base_url": server.base_url, "model": "scripted", "concurrency": 4}
        config = write_config(
            tmp_path / "star1.yaml",
            input=questions_repo,
            input_config="collected",
            star41k_repo=star41k,
            star1_repo=star1,
            n_select=3,
            tag="v1",
            cache_dir=str(tmp_path / "cache"),
            classifier=block,
            teacher={**block, "params": {"temperature": 0.6, "top_p": 0.7, "max_tokens": 512}},
            judge={**block, "params": {"temperature": 0.0}},
        )
        result = build_star1(config)
        assert list(result["stages"]) == ["classify", "reason", "score", "filter", "select"]
        assert result["tags"] == {star41k: "v1", star1: "v1"}
        selected = load_dataset(star1, revision="v1", split="train")
        assert len(selected) == min(3, result["stages"]["filter"]["rows_out"])
        scored = load_dataset(star41k, "scored", revision="v1", split="train")
        assert len(scored) == result["stages"]["classify"]["rows_in"]

        benign_config = write_config(
            tmp_path / "benign.yaml",
            input=f"{star1}@v1",
            benign_repo=benign,
            tag="v1",
            cache_dir=str(tmp_path / "cache-b"),
            rewriter=block,
            teacher=block,
            judge=block,
        )
        result = build_benign915(benign_config)
    assert list(result["stages"]) == ["rewrite", "reason", "score", "filter"]
    assert result["stages"]["rewrite"]["rows_in"] == len(selected)
    final = load_dataset(benign, revision="v1", split="train")
    assert len(final) == result["stages"]["filter"]["rows_out"]
    assert "v1" in {t.name for t in HfApi().list_repo_refs(benign, repo_type="dataset").tags}


def test_unknown_or_missing_yaml_keys_name_the_file_and_key(tmp_path):
    config = write_config(
        tmp_path / "bad.yaml",
        input="a/b",
        star41k_repo="a/c",
        star1_repo="a/d",
        classifier={"base_url": "http://x", "model": "m", "temprature": 0},
    )
    with pytest.raises(BuildConfigError, match=r"bad.yaml: unknown key\(s\) \['temprature'\] in 'classifier'"):
        build_star1(config)
    config = write_config(tmp_path / "missing.yaml", input="a/b", star41k_repo="a/c")
    with pytest.raises(BuildConfigError, match="missing.yaml: missing key 'star1_repo'"):
        build_star1(config)


def test_cli_flags_and_yaml_block_give_the_same_endpoint():
    from star1_hub.curate.builds import endpoint_from
    from star1_hub.curate.stage import get_stage
    from star1_hub.teacher.endpoint import endpoint_from_flags

    yaml_block = {"base_url": "http://h/v1", "model": "r1", "params": {"max_tokens": 512}, "concurrency": 4}
    from_yaml = endpoint_from({"_path": "x.yaml", "teacher": yaml_block}, "teacher", "reason")
    flags = dict.fromkeys(("api_key_env", "rpm", "tpm", "timeout_s", "retry_policy", "max_attempts"))
    flags |= dict.fromkeys(("output_retries", "batch_api", "structured_output", "retry_failed", "transport"))
    from_flags = endpoint_from_flags(  # as `star1 curate reason` calls it
        base_url="http://h/v1",
        model="r1",
        params_json=None,
        params=["max_tokens=512"],
        concurrency=4,
        defaults=get_stage("reason").endpoint_defaults,
        **flags,
    )
    assert from_flags == from_yaml
    assert from_yaml.max_attempts == 10  # the reason stage's paper retry policy fills what the block leaves out
