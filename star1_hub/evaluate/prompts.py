"""Evaluation prompt texts: ours by default, or a user's directory (`star1 eval run --prompt-dir DIR`).

The reasoning tasks' prompts and the XSTest refusal judge's prompt are the project's own wording of the original
instructions (docs/deviations.md). To evaluate with the original texts, put them in a directory, one file per
prompt, named after it (`.md` or `.txt`):

| file | replaces | placeholders (all required) |
|---|---|---|
| `aime24` | the AIME 2024 user prompt | `{problem}` |
| `math500` | the MATH-500 user prompt | `{problem}` |
| `gpqa_diamond` | the GPQA-Diamond user prompt | `{question}`, `{options}` (lines `A) …`) |
| `mmlu_pro` | the MMLU-Pro user prompt | `{question}`, `{options}` (lines `(A): …`); `{letters}` optional |
| `humaneval` | the HumanEval user prompt | `{prompt}` (the problem's signature and docstring) |
| `xstest_judge` | the refusal judge's messages (system + user) | `{question}`, `{response}`: one user message |

A file replaces only its own prompt; the others stay ours. Placeholders are replaced in one pass, so any other
braces (`\\boxed{}`) stay as written. The set is validated before anything runs (an unknown file name is an error
that lists the known ones; a missing placeholder names the file) and identified by a sha256 over its files, which
goes into results.json (`config.prompts`), so a run says which texts produced it. The CLI passes the directory
to the task code through `STAR1_EVAL_PROMPT_DIR`.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from star1_hub.policies.textsets import TextSetError, read_text_file

PROMPT_DIR_ENV = "STAR1_EVAL_PROMPT_DIR"
BUILTIN = "star1-hub"
SUFFIXES = (".md", ".txt")


def _gpqa_values(row: dict) -> dict[str, str]:
    # The same option lines as the task's own prompt (tasks/reasoning/gpqa_diamond.py).
    options = "\n".join(f"{letter}) {text}" for letter, text in zip("ABCD", row["options"], strict=True))
    return {"question": row["question"], "options": options}


def _mmlu_values(row: dict) -> dict[str, str]:
    # The same option lines as the task's own prompt (tasks/reasoning/mmlu_pro.py).
    options = "\n".join(f"({letter}): {text}" for letter, text in zip(row["letters"], row["options"], strict=True))
    return {"question": row["question"], "options": options, "letters": ", ".join(row["letters"])}


@dataclass(frozen=True)
class PromptSpec:
    """One replaceable prompt: its placeholders and how a task row fills them."""

    required: frozenset[str]
    optional: frozenset[str] = frozenset()
    values: Callable[[dict], dict[str, str]] | None = None  # None: the caller passes the values (the judge)


PROMPT_SPECS: dict[str, PromptSpec] = {
    "aime24": PromptSpec(frozenset({"problem"}), values=lambda row: {"problem": row["problem"]}),
    "math500": PromptSpec(frozenset({"problem"}), values=lambda row: {"problem": row["problem"]}),
    "gpqa_diamond": PromptSpec(frozenset({"question", "options"}), values=_gpqa_values),
    "mmlu_pro": PromptSpec(frozenset({"question", "options"}), frozenset({"letters"}), values=_mmlu_values),
    "humaneval": PromptSpec(frozenset({"prompt"}), values=lambda row: {"prompt": row["humaneval_prompt"]}),
    "xstest_judge": PromptSpec(frozenset({"question", "response"})),
}


class PromptDirError(TextSetError):
    """A prompt directory that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class PromptSet:
    """The user's prompt files (name -> template); prompts not given stay the project's."""

    origin: str
    templates: dict[str, str] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """sha256 over the given files' names and texts, in name order."""
        digest = hashlib.sha256()
        for name in sorted(self.templates):
            digest.update(name.encode() + b"\0" + self.templates[name].encode() + b"\0")
        return digest.hexdigest()

    def describe(self) -> dict:
        """results.json entry: where the texts came from, which prompts were replaced, and their digests."""
        return {
            "origin": self.origin,
            "replaced": sorted(self.templates),
            "sha256": self.sha256 if self.templates else None,
            "files": {
                name: hashlib.sha256(text.encode()).hexdigest() for name, text in sorted(self.templates.items())
            },
        }

    def render(self, name: str, values: dict[str, str]) -> str:
        """The template `name` with its placeholders replaced in one pass."""
        spec = PROMPT_SPECS[name]
        names = "|".join(sorted(spec.required | spec.optional))
        return re.sub(r"\{(" + names + r")\}", lambda m: str(values[m.group(1)]), self.templates[name])


def _known() -> str:
    return ", ".join(f"{name}.md" for name in PROMPT_SPECS)


def load_prompt_dir(directory: str) -> PromptSet:
    """Read and validate a prompt directory.

    Raises:
        PromptDirError: not a directory, an unknown file name (the known ones are listed), a file that is empty or
            not UTF-8, a name given twice (`.md` and `.txt`), or a template missing a required placeholder.
    """
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        raise PromptDirError(f"--prompt-dir {directory}: not a directory")
    templates: dict[str, str] = {}
    for path in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
        if path.suffix not in SUFFIXES or path.stem not in PROMPT_SPECS:
            raise PromptDirError(
                f"{path}: unknown prompt file; the known names are {_known()} (.txt works too). Remove or rename it"
            )
        if path.stem in templates:
            raise PromptDirError(f"{path}: {path.stem} is given twice (.md and .txt); keep one")
        try:
            text = read_text_file(path)
        except TextSetError as exc:
            raise PromptDirError(str(exc)) from exc
        spec = PROMPT_SPECS[path.stem]
        missing = sorted(p for p in spec.required if "{" + p + "}" not in text)
        if missing:
            shown = ", ".join("{" + p + "}" for p in missing)
            raise PromptDirError(f"{path}: the template lacks the placeholder(s) {shown}; the row's text goes there")
        templates[path.stem] = text
    return PromptSet(origin=str(folder.resolve()), templates=templates)


# Directory -> its set, read once per run (`use_prompt_dir`) so every row sees the texts the run recorded.
_LOADED: dict[str, PromptSet] = {}


def active_prompt_set() -> PromptSet:
    """The prompt set of this run: the directory in `STAR1_EVAL_PROMPT_DIR`, else ours (nothing replaced)."""
    directory = os.environ.get(PROMPT_DIR_ENV)
    if not directory:
        return PromptSet(origin=BUILTIN)
    if directory not in _LOADED:
        _LOADED[directory] = load_prompt_dir(directory)
    return _LOADED[directory]


def task_prompt(task_name: str, row: dict, builtin: Callable[[dict], str]) -> str:
    """The user message of one task row: the override for `task_name` when the run has one, else ours."""
    prompts = active_prompt_set()
    if task_name not in prompts.templates:
        return builtin(row)
    values = PROMPT_SPECS[task_name].values
    return prompts.render(task_name, values(row) if values else row)


def judge_messages(question: str, response: str, builtin: Callable[[str, str], list[dict]]) -> list[dict]:
    """The refusal judge's messages: the `xstest_judge` override as one user message, else ours."""
    prompts = active_prompt_set()
    if "xstest_judge" not in prompts.templates:
        return builtin(question, response)
    return [{"role": "user", "content": prompts.render("xstest_judge", {"question": question, "response": response})}]


@contextmanager
def use_prompt_dir(directory: str | Path | None) -> Iterator[PromptSet]:
    """Validate `directory` and make it the active prompt set for the duration (None: ours)."""
    if directory is None:
        yield active_prompt_set()
        return
    prompts = load_prompt_dir(str(directory))
    before = os.environ.get(PROMPT_DIR_ENV)
    os.environ[PROMPT_DIR_ENV] = str(directory)
    _LOADED[str(directory)] = prompts
    try:
        yield prompts
    finally:
        _LOADED.pop(str(directory), None)
        if before is None:
            os.environ.pop(PROMPT_DIR_ENV, None)
        else:
            os.environ[PROMPT_DIR_ENV] = before
