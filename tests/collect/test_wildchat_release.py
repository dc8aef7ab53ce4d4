"""WildChat as a decontamination set: the gated full release selects rows, the toxic-free public one fails loudly.

The local Hub holds repos shaped like the two real releases (fields as on their dataset cards): the full release
keeps toxic conversations, the public `allenai/WildChat-1M` has none since 2024-07-22.
"""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from star1_hub.collect.collect import CollectOptions, collect
from star1_hub.collect.source_loader import SourceAccessError, SourceFormatError
from star1_hub.data.wildchat import MODERATION_CATEGORIES, WILDCHAT_PAGE, WILDCHAT_REPO


def _moderation(category: str, score: float, flagged: bool) -> dict:
    # newer entries carry both spellings of every category; the underscore one is null for older rows
    scores = {name: 0.001 for name in MODERATION_CATEGORIES}
    scores |= {name.replace("/", "_").replace("-", "_"): None for name in MODERATION_CATEGORIES if "/" in name}
    scores[category] = score
    return {"flagged": flagged, "category_scores": scores}


def _row(i: int, *, toxic: bool, category: str = "harassment", score: float = 0.9, turn: int = 1) -> dict:
    return {
        "conversation_hash": f"hash-{i:03d}",
        "model": "gpt-3.5-turbo",
        "conversation": [
            {"role": "user", "content": f"[placeholder conversation opener {i}]", "toxic": toxic},
            {"role": "assistant", "content": "a reply", "toxic": False},
        ],
        "turn": turn,
        "language": "English",
        "toxic": toxic,
        "openai_moderation": [_moderation(category, score, flagged=toxic)],
    }


FULL_ROWS = [_row(i, toxic=True, category=MODERATION_CATEGORIES[i % 3], score=0.5 + i / 100) for i in range(6)]
FULL_ROWS += [_row(6, toxic=True, turn=2), _row(7, toxic=False, score=0.0)]
PUBLIC_ROWS = [_row(i, toxic=False, score=0.0) for i in range(8)]


def _push(rows: list[dict], prefix: str) -> str:
    from datasets import Dataset

    repo = f"wildchat-tests/{prefix}-{uuid.uuid4().hex[:8]}"
    Dataset.from_list(rows).push_to_hub(repo)
    return repo


def _options(collect_local_dir, repo: str, **extra) -> CollectOptions:
    return CollectOptions(
        sources=["GPTFuzz"],
        test_sets=["WildChat"],
        local_dir=collect_local_dir,
        use_embeddings=False,
        wildchat_repo=repo,
        **extra,
    )


def test_default_release_is_the_gated_full_one():
    from star1_hub.evaluate.tasks.safety.wildchat import TASKS

    assert WILDCHAT_REPO == "allenai/WildChat-1M-Full"
    assert CollectOptions().wildchat_repo == WILDCHAT_REPO
    assert TASKS[0].hub_id == WILDCHAT_REPO


def test_full_release_shape_selects_the_flagged_english_first_turns(local_hub, collect_local_dir):
    repo = _push(FULL_ROWS, "full")
    result = collect(_options(collect_local_dir, repo))
    (wildchat,) = result.manifest["test_sets"]
    assert wildchat["name"] == "WildChat" and wildchat["location"].startswith(f"hf.co/datasets/{repo}")
    assert wildchat["questions_loaded"] == 6  # the second-turn row and the non-toxic row are left out
    assert wildchat["rows_read"] == len(FULL_ROWS)
    assert result.manifest["test_sets_skipped"] == []


def test_public_toxic_free_release_fails_loudly_naming_the_full_release(local_hub, collect_local_dir):
    repo = _push(PUBLIC_ROWS, "public")
    with pytest.raises(SourceFormatError) as failure:
        collect(_options(collect_local_dir, repo))
    message = str(failure.value)
    assert "toxic-free" in message and WILDCHAT_PAGE in message and "--skip-test-set wildchat" in message


def test_missing_access_names_the_page_to_request_it(local_hub, collect_local_dir):
    with pytest.raises(SourceAccessError) as failure:
        collect(_options(collect_local_dir, f"wildchat-tests/not-granted-{uuid.uuid4().hex[:8]}"))
    assert WILDCHAT_PAGE in str(failure.value) and "request access" in str(failure.value)


def test_skipping_wildchat_is_explicit_and_recorded(collect_local_dir):
    result = collect(_options(collect_local_dir, "wildchat-tests/never-read", skip_test_sets=["wildchat"]))
    assert result.manifest["test_sets"] == []
    assert result.manifest["test_sets_skipped"] == ["WildChat"]
    from star1_hub.cards import render_card
    from star1_hub.collect.collect import collected_record

    record = {**collected_record(result.manifest), "rows": len(result.questions)}
    card = render_card(
        "curation_card.md.jinja", front_matter="", repo_id="o/STAR-41K", title="t", configs={"collected": record}
    )
    assert "Left out of decontamination on request (`--skip-test-set`): WildChat" in card


def test_skipping_a_set_that_is_not_selected_is_an_error(collect_local_dir):
    with pytest.raises(ValueError, match="cannot skip 'StrongREJECT'"):
        collect(_options(collect_local_dir, WILDCHAT_REPO, skip_test_sets=["StrongREJECT"]))


def test_cli_collect_with_the_public_release_exits_2_with_the_fix(local_hub, collect_local_dir, tmp_path):
    from star1_hub.cli import app

    repo = _push(PUBLIC_ROWS, "public-cli")
    args = ["curate", "collect", "--save-dir", str(tmp_path / "out"), "--sources", "GPTFuzz"]
    args += ["--test-sets", "WildChat", "--local-dir", str(collect_local_dir), "--no-embeddings"]
    result = CliRunner().invoke(app, [*args, "--wildchat-repo", repo])
    assert result.exit_code == 2, result.output
    assert "toxic-free" in result.output and "WildChat-1M-Full" in result.output
    skipped = CliRunner().invoke(app, [*args, "--wildchat-repo", repo, "--skip-test-set", "wildchat"])
    assert skipped.exit_code == 0, skipped.output
    import json

    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["test_sets_skipped"] == ["WildChat"]
