"""End to end: local source files → pipeline → config `collected` on the (local) Hub with card, plot, manifest."""

from __future__ import annotations

import json
import uuid

import pytest
import typer
from typer.testing import CliRunner

from star1_hub.collect.cli import register_collect
from star1_hub.collect.collect import CollectOptions, collect, push_collected
from star1_hub.hub.commit import TagExistsError

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


def _card(repo: str, revision: str | None = None):
    from huggingface_hub import DatasetCard, hf_hub_download

    path = hf_hub_download(repo, "README.md", repo_type="dataset", revision=revision)
    return DatasetCard(open(path, encoding="utf-8").read())


def _manifest(repo: str, revision: str | None = None) -> dict:
    from huggingface_hub import hf_hub_download

    return json.loads(open(hf_hub_download(repo, "curation.json", repo_type="dataset", revision=revision)).read())


def _config_names(card) -> list[str]:
    return [c["config_name"] for c in card.data.to_dict()["configs"]]


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
    assert {"README.md", "plots/collected.png", "curation.json"} <= files
    card = _card(repo)
    assert _config_names(card) == ["collected"]
    assert card.text.count("## `collected` — collect") == 1 and "| XSTest | 250 |" in card.text
    record = _manifest(repo)["configs"]["collected"]
    assert record["collect"]["rows_sha256"] == result.manifest["rows_sha256"]
    assert record["rows"] == len(result.questions) == record["counts"]["rows_out"]
    assert record["counts"]["rows_in"] - record["counts"]["dropped"] == record["rows"]


def test_a_stage_pushed_after_collected_keeps_the_collected_section_and_config(collect_local_dir, local_hub):
    """One publisher: a curation stage re-renders the card from the one manifest, which holds `collected` too."""
    from datasets import load_dataset
    from huggingface_hub import HfApi

    from star1_hub.curate.versioning import push_stage
    from tests.curate.test_versioning import RECORD, empty_final

    repo = f"{HfApi().whoami()['name']}/star41k-chain-{uuid.uuid4().hex[:8]}"
    result = collect(
        CollectOptions(sources=SOURCES, test_sets=["XSTest"], local_dir=collect_local_dir, use_embeddings=False)
    )
    push_collected(result, repo)
    push_stage(empty_final(), repo, "filtered", RECORD)
    card = _card(repo)
    assert _config_names(card) == ["collected", "filtered"]
    assert "## `collected` — collect" in card.text and "| XSTest | 250 |" in card.text
    assert "## `filtered` — filter" in card.text
    assert card.text.index("| `collected` |") < card.text.index("| `filtered` |")  # the configs table lists both
    assert set(_manifest(repo)["configs"]) == {"collected", "filtered"}
    assert load_dataset(repo, "collected", split="train")["question"] == result.questions


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
    commits = _commits(repo)
    with pytest.raises(TagExistsError, match="collected-v1"):  # tags are immutable: a re-run needs a new one
        module.run_collect(module.load_config(str(path)))
    assert _commits(repo) == commits


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


def _star1(*args: str):
    from star1_hub.cli import app

    return CliRunner().invoke(app, list(args))


def _commits(repo: str) -> int:
    from huggingface_hub import HfApi

    return len(HfApi().list_repo_commits(repo, repo_type="dataset"))


def test_readme_chain_collect_tag_then_a_stage_reads_the_tag_and_tags_its_own_commit(
    collect_local_dir, local_hub, stage_responder, tmp_path
):
    """README section 2: `star1 curate collect --output R --tag collected-v1`, then
    `star1 curate classify --input R@collected-v1 --output R --tag …`; each tag names its push's one commit."""
    from datasets import load_dataset
    from huggingface_hub import HfApi

    from star1_hub.testing.scripted_server import ScriptedServer

    api = HfApi()
    repo = f"{api.whoami()['name']}/STAR-41K-{uuid.uuid4().hex[:8]}"
    sources = ["--sources", ",".join(SOURCES), "--test-sets", "XSTest", "--local-dir", str(collect_local_dir)]
    collected = _star1("curate", "collect", "--output", repo, "--tag", "collected-v1", *sources, "--no-embeddings")
    assert collected.exit_code == 0, collected.output
    assert f"--input {repo}@collected-v1" in " ".join(collected.output.split())
    assert _commits(repo) == 2  # the repo's creation, then the one push (the tag is no extra commit)
    with ScriptedServer(responder=stage_responder, served_models=["scripted"]) as server:
        classified = _star1(
            "curate", "classify", "--input", f"{repo}@collected-v1", "--output", repo, "--base-url",
            server.base_url, "--model", "scripted", "--cache-dir", str(tmp_path / "cache"), "--tag", "classified-v1",
        )  # fmt: skip
    assert classified.exit_code == 0, classified.output
    tags = {t.name: t.target_commit for t in api.list_repo_refs(repo, repo_type="dataset").tags}
    commits = [c.commit_id for c in api.list_repo_commits(repo, repo_type="dataset")]  # newest first
    assert tags == {"classified-v1": commits[0], "collected-v1": commits[1]}
    questions = load_dataset(repo, "collected", revision="collected-v1", split="train")["question"]
    assert len(load_dataset(repo, "classified", revision="classified-v1", split="train")) == len(questions)
    card = _card(repo, "classified-v1")
    assert sorted(_config_names(card)) == ["classified", "collected"]
    assert "## `collected` — collect" in card.text and "## `classified` — classify" in card.text


def test_collect_refuses_a_taken_tag_before_collecting_and_commits_nothing(collect_local_dir, local_hub):
    from huggingface_hub import HfApi

    repo = f"{HfApi().whoami()['name']}/STAR-41K-{uuid.uuid4().hex[:8]}"
    args = ["--sources", "GPTFuzz", "--test-sets", "XSTest", "--local-dir", str(collect_local_dir), "--no-embeddings"]
    first = _star1("curate", "collect", "--output", repo, "--tag", "collected-v1", *args)
    assert first.exit_code == 0, first.output
    commits = _commits(repo)
    (collect_local_dir / "GPTFuzz.csv").write_text("wrong_column\nplaceholder\n")  # a collection run would fail
    again = _star1("curate", "collect", "--output", repo, "--tag", "collected-v1", *args)
    assert again.exit_code == 2
    assert "tag 'collected-v1' already exists" in " ".join(again.output.split())
    assert _commits(repo) == commits
