"""Curation stages of STAR-1 as `datasets.map` over Hub revisions (spec §2–7, §11).

One module per stage — `classify`, `reason`, `score`, `rewrite` (LLM stages: prompt builder + strict parser +
`LLMStage` declaration run by `stage.run_llm_stage` through the teacher engine), `filter` and `select` (pure).
`pipeline.run_stage` reads `repo@rev`, runs a stage and pushes it as a config of the target repo
(`versioning`); `demo.run_curation_demo` chains the safety path for `make demo`.
"""

from star1_hub.curate.demo import run_curation_demo
from star1_hub.curate.pipeline import StageOptions, run_stage, run_stage_on_dataset
from star1_hub.curate.select import reference_select, select_balanced, select_indices
from star1_hub.curate.stage import Endpoint, StageCounts

__all__ = [
    "Endpoint",
    "StageCounts",
    "StageOptions",
    "reference_select",
    "run_curation_demo",
    "run_stage",
    "run_stage_on_dataset",
    "select_balanced",
    "select_indices",
]
