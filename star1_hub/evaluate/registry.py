"""All evaluation tasks by name and suite (`star1 eval --list-tasks`).

No central list: every module under `star1_hub.evaluate.tasks` (any depth) that defines `TASKS` is a task file, so
adding a benchmark is adding one file there. Tasks are ordered by suite (safety, reasoning, demo, then any other),
then by their declared `rank` (the paper's table order), then by module and position in the file.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from star1_hub.evaluate.taskspec import EvalTask

TASKS_PACKAGE = "star1_hub.evaluate.tasks"
SUITE_CHOICES = ("safety", "reasoning", "all", "demo")
SUITE_ORDER = ("safety", "reasoning", "demo")


def task_modules() -> tuple[str, ...]:
    """Names of the task files: the modules of the tasks package (and its subpackages) that define `TASKS`."""
    package = importlib.import_module(TASKS_PACKAGE)
    names = []
    for info in pkgutil.walk_packages(package.__path__, TASKS_PACKAGE + "."):
        if not info.ispkg and hasattr(importlib.import_module(info.name), "TASKS"):
            names.append(info.name)
    return tuple(sorted(names))


@cache
def all_tasks() -> dict[str, EvalTask]:
    """Every task, keyed by name, in a stable order (see the module docstring)."""
    found: list[tuple[EvalTask, str]] = []
    where: dict[str, str] = {}
    for module_name in task_modules():
        for task in importlib.import_module(module_name).TASKS:
            if task.name in where:
                raise RuntimeError(f"duplicate task name {task.name!r} in {module_name} and {where[task.name]}")
            where[task.name] = module_name
            found.append((task, module_name))

    def order(item: tuple[EvalTask, str]):
        task, _ = item
        suite = SUITE_ORDER.index(task.suite) if task.suite in SUITE_ORDER else len(SUITE_ORDER)
        return (suite, task.rank)

    return {task.name: task for task, _ in sorted(found, key=order)}  # stable: ties keep module and file order


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
