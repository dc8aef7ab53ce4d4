"""Publish a trained model: loss-curve PNG, model card from `model_cards/model_card.md.jinja`, and one Hub commit
with weights, tokenizer (with the inference chat template of the base family), card and curve."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from star1_hub.errors import Star1Error

logger = logging.getLogger(__name__)

LOSS_CURVE = "training_loss.png"
CARD_TEMPLATE = "model_card.md.jinja"
# Checkpoints and optimizer state stay local; the Hub gets the final model only.
_IGNORE = ["checkpoint-*", "checkpoint-*/**", "runs/**", "*.pt", "*.pth", "training_args.bin"]

CITATION = """@article{wang2025star1,
  title   = {STAR-1: Safer Alignment of Reasoning LLMs with 1K Data},
  author  = {Wang, Zijun and Tu, Haoqin and Wang, Yuhan and Wu, Juncheng and Mei, Jieru and Bartoldson, Brian R.
             and Kailkhura, Bhavya and Xie, Cihang},
  journal = {arXiv preprint arXiv:2504.01903},
  year    = {2025}
}"""


class PublishError(Star1Error, RuntimeError):
    """The output directory is not a finished training run."""


def _read_record(output_dir: Path) -> dict[str, Any]:
    from star1_hub.train.record import TRAINING_RECORD

    path = output_dir / TRAINING_RECORD
    if not path.is_file():
        raise PublishError(f"{path} is missing: {output_dir} is not a finished `star1 train` run (train it first)")
    return json.loads(path.read_text())


def loss_points(log_history: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """(step, loss) pairs from a Trainer log history."""
    return [(int(entry["step"]), float(entry["loss"])) for entry in log_history if "loss" in entry and "step" in entry]


def write_loss_curve(output_dir: str | Path) -> Path:
    """Plot the training loss from `star1_training.json` into `training_loss.png` and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output_dir = Path(output_dir)
    points = loss_points(_read_record(output_dir)["log_history"])
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    if points:
        steps, losses = zip(*points, strict=True)
        ax.plot(steps, losses, marker="o", linewidth=1.2)
    else:
        ax.text(
            0.5, 0.5, "no loss logged (increase max_steps or lower logging_steps)", ha="center", transform=ax.transAxes
        )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (assistant tokens)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = output_dir / LOSS_CURVE
    fig.savefig(path)
    plt.close(fig)
    return path


def render_model_card(output_dir: str | Path, hub_model_id: str, revision: str | None = None) -> str:
    """Render the model card for a finished run from its training record."""
    from star1_hub.cards import render_card
    from star1_hub.cards.model_card import base_model_license

    output_dir = Path(output_dir)
    record = _read_record(output_dir)
    points = loss_points(record["log_history"])
    return render_card(
        CARD_TEMPLATE,
        model_id=hub_model_id,
        model_name=hub_model_id.split("/")[-1],
        revision=revision or "main",
        base_model=record["base_model"],
        base_model_revision=record["base_model_revision"],
        datasets=record["datasets"],
        hub_datasets=[d["name"] for d in record["datasets"] if "sha" in d],
        num_train_rows=record["num_train_rows"],
        recipe_path=record["recipe_path"] or "(programmatic run)",
        recipe_yaml=record["recipe_yaml"].rstrip() or "# no recipe file: started from Python",
        chat_template=record["chat_template"],
        inference_chat_template=record.get("inference_chat_template") or "the training template (older run)",
        think_flag=record["think_flag"],
        base_flag=record["base_flag"],
        hyperparameters=record["hyperparameters"],
        hardware_stated=record["hardware_stated"] or "not stated",
        hardware_used=record["hardware_used"],
        global_step=record["global_step"],
        final_loss=f"{points[-1][1]:.4f}" if points else "n/a",
        loss_curve=LOSS_CURVE,
        framework_versions=record["framework_versions"],
        citation=CITATION,
        license=base_model_license(record["base_model"], record.get("base_model_revision")),
        command=record.get("command", ""),
        effective_recipe=record.get("effective_recipe") or {},
    )


def push_trained_model(
    output_dir: str | Path,
    hub_model_id: str,
    revision: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
) -> str:
    """Push a finished run (model, tokenizer, card, loss curve) to the Hub in one commit; return the commit sha.

    Args:
        output_dir: the run's output directory (holds `star1_training.json`).
        hub_model_id: target repo id `owner/name` (created if missing).
        revision: branch to push to (created from main if missing); None pushes to main.
        private: create the repo private.
        commit_message: defaults to a summary naming the base model and step count.

    Raises:
        PublishError: output_dir is not a finished run.
    """
    from star1_hub.hub.commit import Changes, commit_to_hub, folder_files

    output_dir = Path(output_dir)
    record = _read_record(output_dir)
    if not (output_dir / LOSS_CURVE).is_file():
        write_loss_curve(output_dir)
    card = render_model_card(output_dir, hub_model_id, revision)
    (output_dir / "README.md").write_text(card)
    files = {path: file for path, file in folder_files(output_dir, _IGNORE).items() if path != "README.md"}
    result = commit_to_hub(
        hub_model_id,
        Changes(files=files, card=card),
        message=commit_message or f"STAR-1 SFT of {record['base_model']} ({record['global_step']} steps)",
        repo_type="model",
        revision=revision if revision and revision != "main" else None,
        create_branch=bool(revision and revision != "main"),
        private=private,
    )
    logger.info("pushed %s to %s@%s", output_dir, hub_model_id, revision or "main")
    return result.sha
