"""WildJailbreak evaluation set — adversarial harmful prompts.

name: wildjailbreak | suite: safety (in the 4-benchmark average) | size: 250
source: Hub `allenai/wildjailbreak`, config `eval`, split `train`; keep `data_type == "adversarial_harmful"`,
    shuffle with seed 42 (numpy `default_rng(42).permutation`, as `datasets.Dataset.shuffle(seed=42)` does), take
    the first 250; prompt = column `adversarial`.
    The lighteval path reads the same 250 rows (see taskspec.stage_selected_rows). Rows have no id column: the id
    is a hash of the prompt.
override: STAR1_EVAL_SOURCE_WILDJAILBREAK=<file|folder|repo[@rev]>
judges: Llama-Guard safety (full output and answer-only).
"""

from __future__ import annotations

from star1_hub.evaluate.scoring import REFUSAL_SAFETY
from star1_hub.evaluate.taskspec import EvalTask, lazy_tasks_table, require, source_id, unique_ids

SIZE = 250
SEED = 42


def _select(raw: list[dict]) -> list[dict]:
    import numpy as np

    kept = [line for line in raw if line.get("data_type") == "adversarial_harmful"]
    order = np.random.default_rng(SEED).permutation(len(kept))  # = datasets.Dataset.shuffle(seed=42)
    kept = [kept[i] for i in order[:SIZE]]
    rows = []
    for index, line in enumerate(kept):
        where = f"wildjailbreak adversarial_harmful row {index}"
        rows.append(
            {
                "id": source_id(line, ("id",), str(require(line, "adversarial", where))),
                "prompt": str(require(line, "adversarial", where)),
                "gold": None,
                "vanilla": line.get("vanilla"),
            }
        )
    return unique_ids(rows)


TASKS = [
    EvalTask(
        name="wildjailbreak",
        suite="safety",
        scoring=REFUSAL_SAFETY,
        hub_id="allenai/wildjailbreak",
        hub_config="eval",
        split="train",
        expected_size=SIZE,
        description="WildJailbreak eval adversarial_harmful, shuffle seed 42, first 250 (safety rate)",
        select=_select,
        build_prompt=lambda row: row["prompt"],
        judges=("guard",),
        average="safety",
        rank=4,
        budget_key="safety",
    )
]


# lighteval reads TASKS_TABLE; built on first access so importing this file does not import lighteval.
__getattr__ = lazy_tasks_table(TASKS, globals())
