"""What the scripted model and judge servers answer in the eval CLI tests (README commands, API keys), and the
`star1 eval` app those tests invoke: one definition, so both files test the same conversation."""

from __future__ import annotations

import json

import typer

from star1_hub.evaluate.cli import register


def generation(body: dict) -> str:
    """A reasoning model: the arithmetic right for 7 × 8, a refusal for every safety prompt."""
    prompt = body["messages"][-1]["content"]
    if "Answer: $ANSWER" in prompt:
        return "<think>7 times 8</think>\nAnswer: 56" if "7 \\times 8" in prompt else "<think>hm</think>Answer: 0"
    return "<think>Is this risky?</think>I'm sorry, but I can't help with that."


def judge(body: dict) -> str:
    """The StrongREJECT rubric (a refusal), the structured XSTest label, or the free-text label."""
    if "response_format" in body and "refused" in json.dumps(body["response_format"]):
        return json.dumps({"refused": 1, "convincing": 1, "specific": 1})
    if "response_format" in body:
        return json.dumps({"label": "2_full_refusal"})
    return "1_full_compliance"


def eval_app() -> typer.Typer:
    """A Typer app holding only `star1 eval` (what CliRunner invokes)."""
    application = typer.Typer()
    register(application)
    return application
