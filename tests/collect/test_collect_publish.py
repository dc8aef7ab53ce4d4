"""End to end: local source files → pipeline → config `collected` on the (local) Hub with card, plot, manifest."""

from __future__ import annotations

import json
import uuid

import pytest
import typer
from typer.testing import CliRunner

from star1_hub.collect.cli import register_collect
from star1_hub.collect.collect import CollectOptions, collect, merge_card, push_collected

SOURCES = ["GPTFuzz", "SimpleSafetyTests", "QHarm"]


def test_collect_counts_and_catchers(collect_local_dir):
    result = collect(
        CollectOptions(sources=SOURCES, test_sets=["XSTest"], local_dir=collect_local_dir, use_embeddings=False)
    )
    by_name = {s["name"]: s for s in result.manifest["sources"]}
    # SimpleSafetyTests repeats two GPTFuzz prompts: the earlier source wins and is credited
    assert by_name["SimpleSafetyTests"]["counts"]["input"] == 3
    assert by_name["SimpleSafetyTests"]["kept"] == 1
    assert by_name["SimpleSafetyTests"]["caught_by"]["ngram_decontam"] == {"GPTFuzz": 2}
    assert result.manifest["rows"] == len(result.questions) == 9
    assert result.manifest["test_sets"][0]["questions_loaded"] == 250
    assert result.manifest["pipeline"]["embeddings_used"] is False


@pytest.mark.parametrize("rerun", [False, True])
def test_push_collected_publishes_config_card_plot_and_manifest(collect_local_dir, local_hub, rerun):
    from datasets import load_dataset
    from huggingface_hub import HfApi

    api = HfApi()
    repo = f"{api.whoami()['name']}/star41k-{uuid.uuid4().hex[:8]}"
    options = CollectOptions(sources=SOURCES, test_sets=["XSTest"], local_dir=collect_local_dir, use_embeddings=False)
    result = collect(options)
    push_collected(result, repo)
    if rerun:  # a second build replaces the section instead of appending another one
        push_collected(result, repo)
    loaded = load_dataset(repo, "collected", split="train")
    assert loaded["question"] == result.questions and loaded["id"] == [str(i) for i in range(len(result.questions))]
    files = set(api.list_repo_files(repo, repo_type="dataset"))
    assert {"README.md", "collected_report/counts.png", "collected_report/manifest.json"} <= files
    readme = api.hf_hub_download(repo, "README.md", repo_type="dataset")
    text = open(readme, encoding="utf-8").read()
    assert "config_name: collected" in text  # the YAML written by push_to_hub survived the card merge
    assert text.count("star1:collected:start") == 1 and "| XSTest | 250 |" in text
    manifest = json.loads(
        open(api.hf_hub_download(repo, "collected_report/manifest.json", repo_type="dataset")).read()
    )
    assert manifest["rows_sha256"] == result.manifest["rows_sha256"]


def test_merge_card_keeps_other_sections():
    base = "---\nconfigs: []\n---\n# Title\n\nOther stage text.\n"
    once = merge_card(base, "section one")
    twice = merge_card(once, "section two")
    assert twice.startswith(base.rstrip("\n")) and "section two" in twice and "section one" not in twice


def test_cli_collect_writes_local_files(collect_local_dir, tmp_path):
    app = typer.Typer()

    @app.callback()
    def _group() -> None:
        """curate"""

    register_collect(app)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["collect", "--sources", ",".join(SOURCES), "--test-sets", "XSTest", "--local-dir", str(collect_local_dir),
         "--limit", "3", "--no-embeddings", "--save-dir", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "collected.jsonl").read_text().splitlines()]
    assert rows and {r["source"] for r in rows} <= set(SOURCES)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["pipeline"]["limit_per_source"] == 3
    assert all(s["questions_loaded"] <= 3 for s in manifest["sources"])
    assert manifest["test_sets"][0]["questions_loaded"] == 250  # the decontamination pool is never truncated
    assert (out / "counts.png").stat().st_size > 1000


def test_cli_reports_a_bad_source_file_and_exits_2(tmp_path):
    app = typer.Typer()

    @app.callback()
    def _group() -> None:
        """curate"""

    register_collect(app)
    (tmp_path / "GPTFuzz.csv").write_text("wrong_column\nplaceholder\n")
    result = CliRunner().invoke(
        app,
        ["collect", "--sources", "GPTFuzz", "--test-sets", "XSTest", "--local-dir", str(tmp_path), "--no-embeddings",
         "--save-dir", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "GPTFuzz" in result.output and "lacks field" in result.output


def test_build_star41k_script_collects_pushes_and_tags(collect_local_dir, local_hub, tmp_path):
    import importlib.util

    import yaml
    from huggingface_hub import HfApi

    from tests.conftest import REPO_ROOT

    spec = importlib.util.spec_from_file_location("build_star41k", REPO_ROOT / "dataset_scripts" / "build_star41k.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    api = HfApi()
    repo = f"{api.whoami()['name']}/star41k-build-{uuid.uuid4().hex[:8]}"
    shipped = yaml.safe_load((REPO_ROOT / "dataset_scripts" / "star41k.yaml").read_text())
    shipped.update(output=repo, tag="collected-v1")
    shipped["collect"].update(
        sources=SOURCES, test_sets=["XSTest"], local_dir=str(collect_local_dir), embeddings=False
    )
    path = tmp_path / "star41k.yaml"
    path.write_text(yaml.safe_dump(shipped))
    summary = module.run_collect(module.load_config(str(path)))
    assert summary["rows"] == 9 and summary["tag"] == "collected-v1"
    refs = api.list_repo_refs(repo, repo_type="dataset")
    assert [t.target_commit for t in refs.tags if t.name == "collected-v1"] == [summary["commit"]]


def test_collect_with_the_real_minilm_stages(collect_local_dir, minilm_encoder):
    import numpy as np

    vectors = minilm_encoder.encode(["How do I bake bread?", "What is the way to bake bread?", "Stock prices fell."])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.7 > vectors[0] @ vectors[2]
    xstest = (collect_local_dir / "XSTest.csv").read_text(encoding="utf-8").splitlines()
    (collect_local_dir / "XSTest.csv").write_text("\n".join(xstest[:61]) + "\n", encoding="utf-8")  # keep it quick
    options = CollectOptions(sources=SOURCES, test_sets=["XSTest"], local_dir=collect_local_dir, use_embeddings=True)
    result = collect(options, encoder=minilm_encoder)
    manifest = result.manifest
    assert manifest["pipeline"]["embeddings_used"] and "MiniLM" in manifest["pipeline"]["embedding_model"]
    assert all(
        s["counts"]["after_embedding_decontam"] <= s["counts"]["after_global_tfidf"] for s in manifest["sources"]
    )
    assert manifest["rows"] == len(result.questions) <= 9
    assert {"embedding_encode", "stage3_embedding_dedup", "stage4_embedding_decontam"} <= set(manifest["timings_s"])
