"""The three forms real R1 servers return reasoning in, each through `star1 curate classify` then
`star1 curate reason`: every row that reaches the teacher is stored in the canonical layout, trace and answer
intact, with the form in its provenance; a prefilled trace that never closes is never stored as an answer."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from star1_hub.testing.scripted_server import ScriptedServer
from tests.plugins.curate import BENIGN_QUESTION_MARKERS, CURATE_QUESTIONS, StageResponder

TRACE = "The relevant policy rule says I should not assist; a safe alternative exists."
ANSWER = "I can't help with that, but here is a safe alternative."
CANONICAL = f"<think>\n{TRACE}\n</think>\n\n{ANSWER}"
FORMS = {"inline": "inline", "prefilled": "prefilled", "split": "split", "split_reasoning": "split"}


def _run(args: list[str]):
    from star1_hub.cli import app

    result = CliRunner().invoke(app, args)
    return result


def _classify_then_reason(server, questions_repo, out, tmp_path, *extra):
    base = ["--output", out, "--base-url", server.base_url, "--model", "deepseek-r1", "--cache-dir", str(tmp_path)]
    classified = _run(["curate", "classify", "--input", questions_repo, *base])
    assert classified.exit_code == 0, classified.output
    sha = classified.output.split(" at ")[1].split()[0]
    return _run(["curate", "reason", "--input", f"{out}@{sha}", *base, *extra])


@pytest.mark.parametrize("server_form", list(FORMS))
def test_each_r1_form_gives_canonical_rows(server_form, questions_repo, curate_repo, tmp_path):
    from datasets import load_dataset

    out = curate_repo(f"r1-{server_form}")
    with ScriptedServer(
        responder=StageResponder(), reasoning_form=server_form, served_models=["deepseek-r1"]
    ) as server:
        reasoned = _classify_then_reason(server, questions_repo, out, tmp_path)
    assert reasoned.exit_code == 0, reasoned.output
    rows = load_dataset(out, "reasoned", split="train")
    harmful = [r for r in rows if not any(m in r["question"] for m in BENIGN_QUESTION_MARKERS)]
    assert len(harmful) == len(CURATE_QUESTIONS) - len(BENIGN_QUESTION_MARKERS)
    for row in harmful:  # 100 %: the classifier's JSON came after a trace too, and every reasoning row is canonical
        assert row["error"] is None, row["error"]
        assert row["response"] == CANONICAL
        assert row["provenance"]["reasoning_form"] == FORMS[server_form]
        assert row["provenance"]["teacher"] == "deepseek-r1"
    for row in rows:
        if row not in harmful:
            assert row["error"] == "reason:skipped_other"


def test_prefilled_trace_that_never_closes_is_not_an_answer(questions_repo, curate_repo, tmp_path):
    out = curate_repo("r1-unclosed")
    with ScriptedServer(responder=StageResponder(), served_models=["m"]) as server:  # a working classifier
        base = ["--output", out, "--base-url", server.base_url, "--model", "m", "--cache-dir", str(tmp_path / "c")]
        classified = _run(["curate", "classify", "--input", questions_repo, *base])
        sha = classified.output.split(" at ")[1].split()[0]
    with ScriptedServer(
        responder=StageResponder(), reasoning_form="prefilled_unclosed", served_models=["m"]
    ) as server:
        base = ["--output", out, "--base-url", server.base_url, "--model", "m", "--cache-dir", str(tmp_path / "r")]
        reasoned = _run(["curate", "reason", "--input", f"{out}@{sha}", *base, "--max-attempts", "2"])
        sent = server.request_count
    # every sent row failed: the stage is not pushed, and says why
    assert reasoned.exit_code == 1, reasoned.output
    assert "nothing pushed" in reasoned.output and "unparseable" in reasoned.output
    assert sent == 2 * (len(CURATE_QUESTIONS) - len(BENIGN_QUESTION_MARKERS))  # re-sampled once, then given up
    from huggingface_hub import HfApi

    configs = {f.split("/")[0] for f in HfApi().list_repo_files(out, repo_type="dataset") if f.endswith(".parquet")}
    assert "reasoned" not in configs
