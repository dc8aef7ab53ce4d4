"""`--policy-dir` / `--prompt-dir`: user texts are validated, used, and hashed into every row and the card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from star1_hub.data.schema import CATEGORIES
from star1_hub.policies import load_policy_set, load_prompt_set, policy_set_hash
from star1_hub.policies.textsets import POLICY_FILES, PROMPTS_DIR, TEXTS_DIR, TextSetError
from star1_hub.testing.scripted_server import ScriptedServer
from tests.plugins.curate import CURATE_QUESTIONS, StageResponder


@pytest.fixture
def policy_dir(tmp_path) -> Path:
    """A user policy directory: our files with a marker line added to each policy."""
    folder = tmp_path / "policies"
    shutil.copytree(TEXTS_DIR, folder)
    for name in POLICY_FILES.values():
        path = folder / name
        path.write_text(path.read_text(encoding="utf-8") + "\n(user wording)\n", encoding="utf-8")
    return folder


@pytest.fixture
def prompt_dir(tmp_path) -> Path:
    """A user prompt directory holding only a classify template (the others fall back to ours)."""
    folder = tmp_path / "prompts"
    folder.mkdir()
    text = (PROMPTS_DIR / "classify.md").read_text(encoding="utf-8")
    (folder / "classify.md").write_text("USER TEMPLATE\n" + text, encoding="utf-8")
    return folder


def test_user_policy_set_is_validated_and_hashed(policy_dir):
    policies = load_policy_set(policy_dir, "v")
    assert policies.origin == str(policy_dir) and policies.version.startswith("user-")
    assert policies.sha256 != policy_set_hash()
    assert policies.policy_for(CATEGORIES[0]).endswith("(user wording)")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "3_violence.md").unlink(), "missing 3_violence.md"),
        (
            lambda d: (d / "7_privacy.md").write_text("## 7. Something else\n"),
            "7_privacy.md: does not name its category",
        ),
        (lambda d: (d / "definitions.md").write_text("## 1. Harassment / Hate / Discrimination\n"), "definitions.md"),
        (lambda d: (d / "8_ip.md").write_text("  \n"), "8_ip.md: the file is empty"),
    ],
)
def test_invalid_policy_dir_names_the_file(policy_dir, damage, message):
    damage(policy_dir)
    with pytest.raises(TextSetError, match=message):
        load_policy_set(policy_dir, "v")


def test_prompt_template_without_its_placeholder_is_rejected(tmp_path):
    (tmp_path / "score.md").write_text("Rate {question} and {answer} please.")
    with pytest.raises(
        TextSetError, match=r"score.md: template 'score' lacks the placeholder\(s\) \{policies\}, \{reasoning\}"
    ):
        load_prompt_set(tmp_path)
    (tmp_path / "score.md").unlink()
    (tmp_path / "scores.md").write_text("{question}")
    with pytest.raises(TextSetError, match="unknown template name"):
        load_prompt_set(tmp_path)


def test_render_substitutes_once_and_keeps_other_braces(prompt_dir):
    prompts = load_prompt_set(prompt_dir)
    assert prompts.from_user == {"classify"} and prompts.sha256 != load_prompt_set(None).sha256
    text = prompts.render("classify", question="what does {policies} mean?", definitions="DEFS", labels="[]")
    assert text.startswith("USER TEMPLATE") and "what does {policies} mean?" in text
    assert '{"categories": ["category name 1"' in text  # the JSON example's braces are literal text


def test_cli_stage_with_user_texts_records_their_hashes(questions_repo, curate_repo, policy_dir, prompt_dir, tmp_path):
    from datasets import load_dataset
    from huggingface_hub import hf_hub_download

    from star1_hub.cli import app

    responder = StageResponder()
    out = curate_repo("texts")
    with ScriptedServer(responder=responder, served_models=["scripted"]) as server:
        base = ["--output", out, "--base-url", server.base_url, "--model", "scripted", "--cache-dir", str(tmp_path)]
        texts = ["--policy-dir", str(policy_dir), "--prompt-dir", str(prompt_dir)]
        result = CliRunner().invoke(app, ["curate", "classify", "--input", questions_repo, *base, *texts])
        assert result.exit_code == 0, result.output
        sha = result.output.split(" at ")[1].split()[0]
        result = CliRunner().invoke(app, ["curate", "reason", "--input", f"{out}@{sha}", *base, *texts])
        assert result.exit_code == 0, result.output
    prompts = [body for stage, body in responder.seen if stage == "reason"]
    assert prompts and all("(user wording)" in prompt for prompt in prompts)  # the user's policies were sent
    expected = {
        "policy_set_sha256": load_policy_set(policy_dir, "v").sha256,
        "prompt_set_sha256": load_prompt_set(prompt_dir).sha256,
    }
    reasoned = load_dataset(out, "reasoned", split="train")
    done = [row for row in reasoned if row["error"] is None]
    assert len(done) == len(CURATE_QUESTIONS) - 2  # the two harmless questions are Other
    for row in done:
        assert {key: row["provenance"][key] for key in expected} == expected
    card = open(hf_hub_download(out, "README.md", repo_type="dataset")).read()
    assert expected["prompt_set_sha256"] in card and str(policy_dir) in card
    manifest = json.loads(open(hf_hub_download(out, "curation.json", repo_type="dataset")).read())
    assert manifest["configs"]["reasoned"]["prompt_set"]["from_user"] == ["classify"]


def test_invalid_policy_dir_fails_before_sending(questions_repo, curate_repo, tmp_path):
    from star1_hub.cli import app

    with ScriptedServer(responder=StageResponder(), served_models=["scripted"]) as server:
        args = ["curate", "classify", "--input", questions_repo, "--output", curate_repo("bad-texts")]
        args += ["--base-url", server.base_url, "--model", "scripted", "--policy-dir", str(tmp_path)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2
        assert "--policy-dir" in result.output and "definitions.md" in result.output
        assert server.request_count == 0


def test_build_yaml_with_invalid_prompt_dir_fails_before_any_call(questions_repo, curate_repo, tmp_path):
    from star1_hub.curate.builds import build_star1
    from star1_hub.errors import RecipeError

    (tmp_path / "reason.md").write_text("no placeholders at all")
    with ScriptedServer(responder=StageResponder(), served_models=["scripted"]) as server:
        block = {"base_url": server.base_url, "model": "scripted"}
        config = {
            "_path": "star1.yaml",
            "input": questions_repo,
            "star41k_repo": curate_repo("y41k"),
            "star1_repo": curate_repo("y1"),
            "classifier": block,
            "teacher": block,
            "judge": block,
            "options": {"prompt_dir": str(tmp_path)},
        }
        with pytest.raises(RecipeError, match=r"reason.md: template 'reason' lacks the placeholder"):
            build_star1(config)
        assert server.request_count == 0
