"""Files shipped inside the package: the smoke recipes, the accelerate configs and the sample data they train on.

The package holds them (`star1_hub/train/recipes/{smoke,accelerate_configs}/`, `star1_hub/data/samples/`), so
an installed wheel works outside the checkout; the checkout's `recipes/smoke` and `recipes/accelerate_configs`
are symlinks to the same files (one source of truth). A recipe names them as a user sees them in the checkout
(`recipes/smoke/sft_full.yaml`, `recipes/accelerate_configs/zero3.yaml`, `star1_hub/data/samples/…`): a path
that exists relative to the working directory wins, otherwise the packaged copy is used.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

RECIPES_PREFIX = "recipes/"
PACKAGE_PREFIX = "star1_hub/"


def packaged_recipes_dir() -> Path:
    """The folder holding the packaged recipes (`smoke/`, `accelerate_configs/`)."""
    return Path(str(resources.files("star1_hub.train").joinpath("recipes")))


def packaged_recipe_names() -> list[str]:
    """Packaged recipe files as `recipes/…` paths (what `star1 train` accepts outside the checkout)."""
    root = packaged_recipes_dir()
    return sorted(f"{RECIPES_PREFIX}{p.relative_to(root).as_posix()}" for p in root.rglob("*.yaml"))


def resolve_packaged(value: str | Path) -> Path | None:
    """A path as given if it exists, else the packaged file it names (`recipes/…` or `star1_hub/…`), else None."""
    path = Path(value)
    if path.exists():
        return path
    text = path.as_posix()
    if text.startswith(RECIPES_PREFIX):
        candidate = packaged_recipes_dir() / text[len(RECIPES_PREFIX) :]
    elif text.startswith(PACKAGE_PREFIX):
        candidate = Path(str(resources.files("star1_hub"))) / text[len(PACKAGE_PREFIX) :]
    else:
        return None
    return candidate if candidate.exists() else None


def display_path(path: str | Path) -> str:
    """How a recipe file is named in records and cards: relative to the working directory or as a packaged
    `recipes/…` path, never a machine-specific absolute path when avoidable."""
    resolved = Path(path).resolve()
    root = packaged_recipes_dir().resolve()
    if resolved.is_relative_to(root):
        return f"{RECIPES_PREFIX}{resolved.relative_to(root).as_posix()}"
    cwd = Path.cwd().resolve()
    if resolved.is_relative_to(cwd):
        return resolved.relative_to(cwd).as_posix()
    return str(path)
