"""Evaluation: lighteval task files for the STAR-1 safety and reasoning suites, cached judges, metrics, publishing.

Entry points: `star1 eval` (star1_hub.evaluate.cli), `run_eval` (runner), `run_eval_demo` (demo).
Importing this package is cheap; heavy libraries load inside the functions that need them.
"""

from __future__ import annotations

__all__ = ["run_eval", "run_eval_demo", "load_recipe", "select_tasks"]


def __getattr__(name: str):
    if name == "run_eval":
        from star1_hub.evaluate.runner import run_eval

        return run_eval
    if name == "run_eval_demo":
        from star1_hub.evaluate.demo import run_eval_demo

        return run_eval_demo
    if name == "load_recipe":
        from star1_hub.evaluate.recipe import load_recipe

        return load_recipe
    if name == "select_tasks":
        from star1_hub.evaluate.registry import select_tasks

        return select_tasks
    raise AttributeError(name)
