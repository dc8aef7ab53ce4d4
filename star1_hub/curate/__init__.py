"""Curation stages of STAR-1 as `datasets.map` over Hub revisions (docs/curation.md).

One module per stage — `classify`, `reason`, `score`, `rewrite` (LLM stages: a declarative `LLMTask` with a
prompt template, a pydantic response model and `parse`, run by the teacher engine), `filter` and `select` (pure);
`stage.STAGES` / `get_stage(name)` know them all. `pipeline.run_stage` reads `repo@rev`, runs a stage and pushes
it as a config of the target repo (`versioning`); `builds.run_plan` chains stages for the build scripts and for
`demo.run_curation_demo` (`make demo`). Collecting the input prompts lives in `star1_hub.collect`.
"""

from star1_hub.curate.demo import run_curation_demo
from star1_hub.curate.options import StageOptions
from star1_hub.curate.pipeline import StageFailed, run_stage, run_stage_on_dataset
from star1_hub.curate.select import reference_select, select_balanced, select_indices
from star1_hub.curate.stage import STAGES, StageCounts, get_stage

__all__ = [
    "STAGES",
    "StageCounts",
    "StageFailed",
    "StageOptions",
    "get_stage",
    "reference_select",
    "run_curation_demo",
    "run_stage",
    "run_stage_on_dataset",
    "select_balanced",
    "select_indices",
]
