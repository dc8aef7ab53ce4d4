"""`push_card`: card validation and README commit against the configured endpoint (not huggingface.co)."""

from __future__ import annotations

import pytest
from huggingface_hub import DatasetCard, ModelCard

from star1_hub.hub.card_push import push_card
from star1_hub.hub.card_validation import CardValidationError

CARD = "---\nlicense: apache-2.0\ntags:\n- star1\n---\n# Card\n"


def test_push_card_commits_readme_and_repo_info_parses_it(hub_api, make_repo_id):
    repo_id = make_repo_id("card")
    hub_api.create_repo(repo_id, repo_type="dataset")
    info = push_card(CARD, repo_id, repo_type="dataset", commit_message="card")
    assert hub_api.dataset_info(repo_id).sha == info.sha
    assert DatasetCard.load(repo_id, repo_type="dataset").data.license == "apache-2.0"
    assert hub_api.dataset_info(repo_id).card_data["tags"] == ["star1"]


def test_push_card_with_create_pr_leaves_main_alone(hub_api, make_repo_id):
    repo_id = make_repo_id("card-pr")
    hub_api.create_repo(repo_id)
    info = push_card(str(ModelCard(CARD)), repo_id, create_pr=True)
    assert info.pr_revision == "refs/pr/1"
    assert not hub_api.file_exists(repo_id, "README.md")
    assert hub_api.file_exists(repo_id, "README.md", revision="refs/pr/1")


def test_push_card_with_broken_yaml_raises_and_commits_nothing(hub_api, make_repo_id):
    repo_id = make_repo_id("card-bad")
    hub_api.create_repo(repo_id)
    head = hub_api.model_info(repo_id).sha
    with pytest.raises(CardValidationError, match=repo_id):
        push_card("---\nlicense: [unclosed\n---\n# x\n", repo_id)
    assert hub_api.model_info(repo_id).sha == head
