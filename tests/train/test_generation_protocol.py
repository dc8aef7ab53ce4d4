"""One generation protocol: a model fine-tuned by `star1 train` is saved with the inference template of its base
family, so base and fine-tuned render the same generation prompt (R1-Distill: DeepSeek's released template, which
pre-fills `<think>\\n`), and `star1 eval run --preflight` fails when a model's prompt differs from its base's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from star1_hub.evaluate.preflight import check_generation_protocol, compare_generation_prompts
from star1_hub.teacher.preflight import PreflightReport
from star1_hub.train.record import TRAINING_RECORD
from star1_hub.train.templates import (
    R1_ASSISTANT,
    R1_BOS,
    R1_USER,
    apply_training_template,
    get_chat_template,
    inference_template,
    own_chat_template,
    released_inference_template,
    save_inference_template,
)

CONVERSATION = [{"role": "user", "content": "Name a prime number."}]
R1_FAMILIES = {"r1-distill-qwen": "r1_qwen_tokenizer", "r1-distill-llama": "r1_llama_tokenizer"}


def _reload(tokenizer, folder: Path):
    from transformers import AutoTokenizer

    tokenizer.save_pretrained(str(folder))
    return AutoTokenizer.from_pretrained(str(folder))


def _prompt(tokenizer) -> str:
    return tokenizer.apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True)


@pytest.fixture(scope="module", params=list(R1_FAMILIES))
def r1_base(request, tmp_path_factory):
    """(family, base model folder): a real R1-vocabulary tokenizer served with DeepSeek's released template.

    Made once per family for the module (two saves and loads of a 49k-token tokenizer each time); the tests only
    read the folder (checked at teardown) and write their fine-tuned copies under their own tmp_path."""
    tmp = tmp_path_factory.mktemp(f"{request.param}-base")
    tokenizer = _reload(request.getfixturevalue(R1_FAMILIES[request.param]), tmp / "copy")
    tokenizer.chat_template = released_inference_template(request.param)
    base = tmp / "base"
    _reload(tokenizer, base)
    before = {f.name: f.read_bytes() for f in base.iterdir()}
    yield request.param, base
    assert {f.name: f.read_bytes() for f in base.iterdir()} == before, "a test changed the shared base folder"


def _fine_tune_save(base_dir: Path, out: Path, record_base: str | None = None):
    """What `run_sft` does to the tokenizer: training template on, train, save, inference template back."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    own = own_chat_template(tokenizer)
    name = apply_training_template(tokenizer, "auto")
    template, source = inference_template(name, own)
    tokenizer.save_pretrained(str(out))  # Trainer.save_model writes the training template first
    save_inference_template(tokenizer, out, template)
    (out / TRAINING_RECORD).write_text(json.dumps({"base_model": record_base or str(base_dir)}))
    return AutoTokenizer.from_pretrained(str(out)), source


def test_released_r1_templates_prefill_think(r1_base):
    from transformers import AutoTokenizer

    family, base_dir = r1_base
    prompt = _prompt(AutoTokenizer.from_pretrained(str(base_dir)))
    assert prompt == f"{R1_BOS}{R1_USER}Name a prime number.{R1_ASSISTANT}<think>\n"


def test_fine_tuned_model_renders_the_generation_prompt_of_its_base(r1_base, tmp_path):
    from transformers import AutoTokenizer

    family, base_dir = r1_base
    tuned, source = _fine_tune_save(base_dir, tmp_path / "tuned")
    base = AutoTokenizer.from_pretrained(str(base_dir))
    assert _prompt(tuned) == _prompt(base)
    assert (
        tuned.apply_chat_template(CONVERSATION, add_generation_prompt=True, return_dict=True)["input_ids"]
        == (base.apply_chat_template(CONVERSATION, add_generation_prompt=True, return_dict=True)["input_ids"])
    )
    assert "{% generation %}" not in tuned.chat_template and "DeepSeek's released" in source
    assert compare_generation_prompts(base, tuned) is None


def test_instruct_and_embedded_models_keep_their_own_template(embedded_model, tmp_path):
    from transformers import AutoTokenizer

    stock = AutoTokenizer.from_pretrained(str(embedded_model)).chat_template
    tuned, source = _fine_tune_save(Path(embedded_model), tmp_path / "tuned")
    assert tuned.chat_template == stock and source == "the base tokenizer's own chat template"


def test_preflight_passes_a_model_saved_by_star1_train(r1_base, tmp_path):
    family, base_dir = r1_base
    _fine_tune_save(base_dir, tmp_path / "tuned")
    report = PreflightReport()
    check_generation_protocol(report, str(tmp_path / "tuned"))
    assert report.ok, report.failures()
    assert "same generation prompt as its base" in report.checks[0]["detail"]


def test_preflight_fails_on_the_old_training_template(r1_base, tmp_path):
    """The old save path kept the training template, whose prompt stops at `<｜Assistant｜>` without `<think>\\n`."""
    from transformers import AutoTokenizer

    family, base_dir = r1_base
    tuned_dir = tmp_path / "tuned"
    old = AutoTokenizer.from_pretrained(str(base_dir))
    old.chat_template = get_chat_template(family)
    old.save_pretrained(str(tuned_dir))
    (tuned_dir / TRAINING_RECORD).write_text(json.dumps({"base_model": str(base_dir)}))
    report = PreflightReport()
    check_generation_protocol(report, str(tuned_dir))
    assert not report.ok
    (failure,) = report.failures()
    assert "render different generation prompts" in failure and "<think>" in failure and str(base_dir) in failure


def test_preflight_names_a_model_without_a_recorded_base(r1_base):
    family, base_dir = r1_base
    report = PreflightReport()
    check_generation_protocol(report, str(base_dir))
    assert report.ok and "records no base model" in report.checks[0]["detail"]


def test_eval_preflight_exits_2_on_a_different_template_and_base_model_overrides(r1_base, tmp_path):
    """`star1 eval run --preflight`: exit 2 with the difference on stderr; `--base-model` picks the base."""
    from star1_hub.evaluate.cli import register

    family, base_dir = r1_base
    app = typer.Typer()
    register(app)
    tuned_dir = tmp_path / "tuned"
    _fine_tune_save(base_dir, tuned_dir, record_base="nobody/not-a-base-model")
    other = tmp_path / "other-base"
    from transformers import AutoTokenizer

    stale = AutoTokenizer.from_pretrained(str(base_dir))
    stale.chat_template = get_chat_template(family)
    stale.save_pretrained(str(other))
    args = ["eval", "run", "--model", str(tuned_dir), "--tasks", "demo_math", "--recipe", "cpu-demo"]
    env = {"COLUMNS": "200", "STAR1_HOME": str(tmp_path / "home")}
    runner = CliRunner()
    failed = runner.invoke(app, [*args, "--preflight", "--base-model", str(other)], env=env)
    assert failed.exit_code == 2, failed.output
    shown = " ".join(failed.output.split())  # rich wraps long lines
    assert "generation protocol:" in shown and "different generation prompts" in shown
    passed = runner.invoke(app, [*args, "--preflight", "--base-model", str(base_dir)], env=env)
    assert passed.exit_code == 0, passed.output
    assert "preflight passed" in passed.output


def test_the_base_is_read_from_our_model_card_but_not_from_a_released_models_card(tmp_path):
    from star1_hub.evaluate.preflight import recorded_base_model

    ours, released = tmp_path / "ours", tmp_path / "released"
    ours.mkdir(), released.mkdir()
    (ours / "README.md").write_text("---\nbase_model: org/base\ntags:\n- star1-hub\n---\n# card\n")
    (released / "README.md").write_text("---\nbase_model: org/pretrained\n---\n# an instruct model's own card\n")
    assert recorded_base_model(str(ours)) == ("org/base", None)
    assert recorded_base_model(str(released)) is None


def test_preflight_reads_the_base_from_a_pushed_models_training_record(r1_base, tmp_path, hub_api, make_repo_id):
    """A STAR-1 model on the Hub: its pushed `star1_training.json` names the base; a stale template fails."""
    family, base_dir = r1_base
    good, stale = make_repo_id("protocol-good"), make_repo_id("protocol-stale")
    _fine_tune_save(base_dir, tmp_path / "good")
    from transformers import AutoTokenizer

    old = AutoTokenizer.from_pretrained(str(base_dir))
    old.chat_template = get_chat_template(family)
    old.save_pretrained(str(tmp_path / "stale"))
    (tmp_path / "stale" / TRAINING_RECORD).write_text(json.dumps({"base_model": str(base_dir)}))
    for repo, folder in ((good, tmp_path / "good"), (stale, tmp_path / "stale")):
        hub_api.create_repo(repo)
        hub_api.upload_folder(repo_id=repo, folder_path=str(folder))
    passed, failed = PreflightReport(), PreflightReport()
    check_generation_protocol(passed, good)
    check_generation_protocol(failed, stale, "main")
    assert passed.ok and str(base_dir) in passed.checks[0]["detail"]
    assert not failed.ok and "render different generation prompts" in failed.failures()[0]
