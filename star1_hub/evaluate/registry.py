"""All evaluation tasks by name and suite (`star1 eval --list-tasks`)."""

from __future__ import annotations

import importlib
from functools import cache

from star1_hub.evaluate.taskspec import EvalTask

TASK_MODULES = (
    "star1_hub.evaluate.tasks.safety.strongreject",
    "star1_hub.evaluate.tasks.safety.jbb",
    "star1_hub.evaluate.tasks.safety.wildchat",
    "star1_hub.evaluate.tasks.safety.wildjailbreak",
    "star1_hub.evaluate.tasks.safety.xstest",
    "star1_hub.evaluate.tasks.reasoning.aime24",
    "star1_hub.evaluate.tasks.reasoning.math500",
    "star1_hub.evaluate.tasks.reasoning.gpqa_diamond",
    "star1_hub.evaluate.tasks.reasoning.mmlu_pro",
    "star1_hub.evaluate.tasks.reasoning.humaneval",
    "star1_hub.evaluate.tasks.demo",
)
SUITE_CHOICES = ("safety", "reasoning", "all", "demo")


@cache
def all_tasks() -> dict[str, EvalTask]:
    """Every task, keyed by name, in a stable order."""
    tasks: dict[str, EvalTask] = {}
    for module_name in TASK_MODULES:
        for task in importlib.import_module(module_name).TASKS:
            if task.name in tasks:
                raise RuntimeError(f"duplicate task name {task.name!r} in {module_name}")
            tasks[task.name] = task
    return tasks


def get_task(name: str) -> EvalTask:
    """The task called `name`; KeyError lists the known names."""
    tasks = all_tasks()
    if name not in tasks:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(tasks)}")
    return tasks[name]


def select_tasks(suite: str | None = None, names: list[str] | None = None) -> list[EvalTask]:
    """Tasks named explicitly, or those of a suite (`all` = safety + reasoning; `demo` = the shipped demo slices)."""
    if names:
        return [get_task(name) for name in names]
    if suite not in SUITE_CHOICES:
        raise ValueError(f"unknown suite {suite!r}; choose one of {SUITE_CHOICES}")
    wanted = {"all": ("safety", "reasoning")}.get(suite, (suite,))
    return [task for task in all_tasks().values() if task.suite in wanted]
