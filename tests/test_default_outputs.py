"""Folders the CLI writes in the working directory by default are git-ignored (the rest goes under STAR1_HOME)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
EVAL_DEFAULT_FOLDER = "eval-results"  # `star1 eval run` without --output-dir


def _ignored_top_folders() -> set[str]:
    """Top-level folder names that .gitignore ignores (`/name/` or `name/` patterns)."""
    names = set()
    for line in (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and line.endswith("/") and "*" not in line:
            names.add(line.strip("/"))
    return names


def _recipe_output_dirs() -> list[tuple[str, str]]:
    found = []
    for path in sorted((REPO_ROOT / "recipes").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("output_dir"):
            found.append((str(path.relative_to(REPO_ROOT)), str(data["output_dir"])))
    return found


def test_recipes_write_their_output_dir_somewhere_ignored():
    recipes = _recipe_output_dirs()
    assert recipes, "the training recipes set output_dir"
    ignored = _ignored_top_folders()
    for recipe, output_dir in recipes:
        if Path(output_dir).is_absolute():
            continue
        assert Path(output_dir).parts[0] in ignored, f"{recipe}: output_dir {output_dir} is not git-ignored"


def test_eval_results_folder_is_ignored():
    assert EVAL_DEFAULT_FOLDER in _ignored_top_folders()
