"""Evaluation recipes (`recipes/eval/*.yaml`): sampling parameters, token budgets, seeds and judge settings.

The recipe files are package data (`star1_hub/evaluate/recipes/`, read with `importlib.resources`, so an installed
wheel loads `paper`); `recipes/eval` in the checkout is a link to that folder, one source of truth.

A recipe is stored verbatim in every results file, so a score can always be traced to how it was produced.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from star1_hub.errors import RecipeError

RECIPES_PACKAGE = "star1_hub.evaluate.recipes"


class GenerationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int | None = None
    repetition_penalty: float | None = None


class JudgeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    guard_max_tokens: int = 100
    refusal_max_tokens: int = 32
    rubric_max_tokens: int = 256
    structured_output: bool = True  # JSON schema for the refusal / rubric judges
    # "guard": a Llama-Guard model, its own template applied by the server, plain-text verdict (the protocol);
    # "instructed": a general chat model told what to check, JSON verdict (demo / no guard model at hand).
    guard_mode: Literal["guard", "instructed"] = "guard"


class Recipe(BaseModel):
    """One evaluation protocol."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    seed: int = 46
    samples_per_prompt: int = Field(1, ge=1)
    generation: GenerationSettings = GenerationSettings()
    budgets: dict[str, int] = Field(default_factory=lambda: {"default": 4096})
    judges: JudgeSettings = JudgeSettings()
    concurrency: int = Field(16, ge=1)

    def budget_for(self, task) -> int:
        """max_new_tokens for an EvalTask: its budget key, then its name, then `default`."""
        for key in (task.budget_key, task.name, "default"):
            if key and key in self.budgets:
                return self.budgets[key]
        raise KeyError(f"recipe {self.name!r} has no budget for {task.name!r} and no 'default'")


def load_recipe(path_or_name: str | Path) -> Recipe:
    """Load a recipe from a YAML path, or by name from `recipes/eval/` (e.g. `"paper"`)."""
    path = Path(path_or_name)
    if path.is_file():
        text = path.read_text()
    else:
        packaged = resources.files(RECIPES_PACKAGE)
        candidate = packaged / f"{path_or_name}.yaml"
        if not candidate.is_file():
            known = sorted(p.name.removesuffix(".yaml") for p in packaged.iterdir() if p.name.endswith(".yaml"))
            raise RecipeError(f"recipe {path_or_name!r} not found (a YAML path, or one of {known})")
        path, text = Path(str(candidate)), candidate.read_text()
    try:
        data = yaml.safe_load(text)
        return Recipe.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise RecipeError(f"{path}: invalid recipe: {exc}") from exc
