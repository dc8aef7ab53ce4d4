"""`--dry-run` prices a stage from the same table the engine charges real runs with."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from star1_hub.curate.options import StageOptions
from star1_hub.curate.pipeline import estimate_stage
from star1_hub.teacher import EndpointConfig
from star1_hub.teacher.accounting import DEFAULT_PRICES, price_for
from tests.plugins.curate import CURATE_QUESTIONS


def test_gpt4o_dry_run_costs_its_table_price(questions_repo):
    from star1_hub.curate.versioning import load_stage_input

    source = load_stage_input(questions_repo, "collected")
    endpoint = EndpointConfig(base_url="http://127.0.0.1:9/v1", model="gpt-4o")  # never contacted
    estimate = estimate_stage("classify", source.dataset, endpoint, StageOptions())
    price_in, price_out = DEFAULT_PRICES["gpt-4o"]
    expected = (estimate["prompt_tokens_est"] * price_in + estimate["completion_tokens_est"] * price_out) / 1e6
    assert estimate["requests"] == len(CURATE_QUESTIONS)
    assert estimate["cost_usd_est"] == round(expected, 4) > 0
    assert estimate["price_usd_per_1m"] == {"prompt": price_in, "completion": price_out}
    batch = estimate_stage("classify", source.dataset, endpoint.replace(batch_api=True), StageOptions())
    assert batch["cost_usd_est"] == round(expected / 2, 4)


def test_cli_dry_run_uses_the_table_and_flags_override_it(questions_repo, curate_repo):
    from star1_hub.cli import app

    args = [
        "curate",
        "reason",
        "--input",
        questions_repo,
        "--input-config",
        "collected",
        "--output",
        curate_repo("dry"),
    ]
    args += ["--base-url", "http://127.0.0.1:9/v1", "--model", "deepseek-reasoner", "--dry-run"]
    priced = CliRunner().invoke(app, args)
    assert priced.exit_code == 0, priced.output
    estimate = json.loads(priced.output)
    assert estimate["price_usd_per_1m"]["completion"] == price_for("deepseek-reasoner")[1] > 0
    # rows without categories cannot be prompted for reasoning: nothing to send, nothing to pay
    assert estimate["requests"] == 0 and estimate["cost_usd_est"] == 0
    overridden = CliRunner().invoke(app, [*args, "--price-in", "1", "--price-out", "0"])
    assert json.loads(overridden.output)["price_usd_per_1m"] == {"prompt": 1.0, "completion": 0.0}
