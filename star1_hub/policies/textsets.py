"""Policy and prompt text sets: the project's own wording by default, or a user's directory for exact reproduction.

`--policy-dir DIR` and `--prompt-dir DIR` (and the build YAML keys `policy_dir` / `prompt_dir`) load texts a user
supplies, for instance converted from a checkout of the original repository. The project ships only its own
wording. Every set is validated before any request is sent and identified by a sha256 that goes into every row's
provenance and the dataset card, so a build says exactly which texts produced it.

Policy directory: `definitions.md` plus one file per category with the same names as `texts/` (`1_harassment.md`
… `8_ip.md`); each policy file must name its category and the definitions must name all eight.

Prompt directory: any of `classify.md`, `reason.md`, `score.md`, `score_benign.md`, `rewrite.md` (`.txt` works
too); a template must contain its required `{placeholders}`; templates not given come from the project's set.
Placeholders are replaced in one pass, so braces elsewhere (JSON examples) and braces inside a question stay
as they are.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from star1_hub.data.schema import CATEGORIES, OTHER_LABEL
from star1_hub.errors import Star1Error

POLICY_SEPARATOR = "\n---\n"
TEXTS_DIR = Path(__file__).resolve().parent / "texts"
PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
POLICY_FILES: dict[str, str] = dict(
    zip(
        CATEGORIES,
        (
            "1_harassment.md",
            "2_sexual.md",
            "3_violence.md",
            "4_self_harm.md",
            "5_illicit.md",
            "6_misinformation.md",
            "7_privacy.md",
            "8_ip.md",
        ),
        strict=True,
    )
)
DEFINITIONS_FILE = "definitions.md"
# template name -> (required placeholders, optional placeholders)
PROMPT_PLACEHOLDERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "classify": (frozenset({"question", "definitions"}), frozenset({"labels"})),
    "reason": (frozenset({"question", "policies"}), frozenset()),
    "score": (frozenset({"question", "reasoning", "answer", "policies"}), frozenset()),
    "score_benign": (frozenset({"question", "reasoning", "answer"}), frozenset()),
    "rewrite": (frozenset({"question"}), frozenset({"categories"})),
}
BUILTIN = "star1-hub"


class TextSetError(Star1Error, ValueError):
    """A policy or prompt directory that cannot be used; the message names the file and what to fix."""


class UnknownCategory(Star1Error, KeyError):
    """A label that has no policy (e.g. `Other`, or a misspelt category)."""

    def __str__(self) -> str:
        return str(self.args[0])


def read_text_file(path: Path) -> str:
    """The stripped UTF-8 text of one policy or prompt file; TextSetError names the file when it is not UTF-8 or empty."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError as exc:
        raise TextSetError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    if not text:
        raise TextSetError(f"{path}: the file is empty")
    return text


def _digest(parts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class PolicySet:
    """The category definitions and the eight policy sections used by one build."""

    origin: str  # BUILTIN or the directory it was read from
    version: str
    definitions: str
    policies: Mapping[str, str]

    @property
    def sha256(self) -> str:
        """sha256 over the definitions and all eight policies, in category order."""
        return _digest([self.definitions, *(self.policies[c] for c in CATEGORIES)])

    def policy_for(self, category: str) -> str:
        """The policy section of one category.

        Raises:
            UnknownCategory: `category` is `Other` or not one of the eight exact label strings.
        """
        if category not in self.policies:
            hint = " (`Other` items must be filtered out before reasoning/scoring)" if category == OTHER_LABEL else ""
            raise UnknownCategory(f"no policy for category {category!r}{hint}; choose from {list(CATEGORIES)}")
        return self.policies[category]

    def policies_for(self, categories: Sequence[str]) -> tuple[str, str]:
        """(text, sha256) of the policies of `categories` in the given (classifier) order, each label once.

        Raises:
            UnknownCategory: a label has no policy.
            ValueError: `categories` is empty.
        """
        ordered = list(dict.fromkeys(categories))
        if not ordered:
            raise ValueError("policies_for needs at least one category")
        text = POLICY_SEPARATOR.join(self.policy_for(c) for c in ordered)
        return text, hashlib.sha256(text.encode("utf-8")).hexdigest()

    def describe(self) -> dict[str, str]:
        """Manifest / card entry of this set."""
        return {"origin": self.origin, "version": self.version, "sha256": self.sha256}


def check_builtin_structure(category: str, text: str) -> None:
    """Our own policies follow a fixed layout: `## <n>. <Category>`, an objective, exactly three bold rules."""
    number = CATEGORIES.index(category) + 1
    problems = []
    if not text.startswith(f"## {number}. {category}\n"):
        problems.append(f"heading must be '## {number}. {category}'")
    if "### Policy Objective" not in text or "### Rules & Responses" not in text:
        problems.append("needs '### Policy Objective' and '### Rules & Responses'")
    rules = re.findall(r"^(\d)\. \*\*[^*\n]+\*\*", text.split("### Rules & Responses")[-1], flags=re.MULTILINE)
    if rules != ["1", "2", "3"]:
        problems.append(f"needs exactly three numbered bold-titled rules, found {rules}")
    if problems:
        raise ValueError(f"policy file {POLICY_FILES[category]}: " + "; ".join(problems))


@cache
def builtin_policy_set(version: str) -> PolicySet:
    """The project's own policy texts (checked against their fixed layout)."""
    policies = {}
    for category, name in POLICY_FILES.items():
        text = read_text_file(TEXTS_DIR / name)
        check_builtin_structure(category, text)
        policies[category] = text
    return PolicySet(BUILTIN, version, read_text_file(TEXTS_DIR / DEFINITIONS_FILE), policies)


def load_policy_set(directory: str | Path | None, version: str) -> PolicySet:
    """The builtin set (`directory=None`) or the texts of a user's directory, validated.

    Raises:
        TextSetError: a file is missing, empty or does not name its category; the definitions miss a category.
    """
    if directory is None:
        return builtin_policy_set(version)
    folder = Path(directory)
    if not folder.is_dir():
        raise TextSetError(f"--policy-dir {folder} is not a directory")
    missing = [name for name in (DEFINITIONS_FILE, *POLICY_FILES.values()) if not (folder / name).is_file()]
    if missing:
        raise TextSetError(
            f"--policy-dir {folder}: missing {', '.join(missing)}; it needs {DEFINITIONS_FILE} and one file per "
            f"category: {', '.join(f'{n} ({c})' for c, n in POLICY_FILES.items())}"
        )
    definitions = read_text_file(folder / DEFINITIONS_FILE)
    absent = [c for c in CATEGORIES if c not in definitions]
    if absent:
        raise TextSetError(f"{folder / DEFINITIONS_FILE}: does not name the categories {absent} (exact spelling)")
    policies = {}
    for category, name in POLICY_FILES.items():
        text = read_text_file(folder / name)
        if category not in text:
            raise TextSetError(f"{folder / name}: does not name its category {category!r} (exact spelling)")
        policies[category] = text
    partial = PolicySet(str(folder), "", definitions, policies)
    return PolicySet(str(folder), f"user-{partial.sha256[:12]}", definitions, policies)


_PLACEHOLDER = re.compile(
    r"\{(" + "|".join(sorted({p for r, o in PROMPT_PLACEHOLDERS.values() for p in r | o})) + r")\}"
)


@dataclass(frozen=True)
class PromptSet:
    """The prompt templates of the LLM stages (see module docstring)."""

    origin: str  # BUILTIN or the directory the user templates came from
    templates: Mapping[str, str]
    from_user: frozenset[str] = frozenset()

    @property
    def sha256(self) -> str:
        """sha256 over every template, in name order."""
        return _digest([f"{name}\n{self.templates[name]}" for name in sorted(self.templates)])

    def render(self, name: str, **values: str) -> str:
        """Fill template `name` with `values` (one pass: substituted text is never scanned again).

        Raises:
            KeyError: an unknown template, or a placeholder of the template without a value.
        """
        template = self.templates[name]

        def substitute(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in PROMPT_PLACEHOLDERS[name][0] | PROMPT_PLACEHOLDERS[name][1]:
                return match.group(0)  # not a placeholder of this template: literal text
            if key not in values:
                raise KeyError(f"prompt {name!r} needs a value for {{{key}}}")
            return values[key]

        return _PLACEHOLDER.sub(substitute, template)

    def describe(self) -> dict[str, object]:
        """Manifest / card entry of this set."""
        return {"origin": self.origin, "sha256": self.sha256, "from_user": sorted(self.from_user)}


def _check_template(name: str, text: str, path: Path) -> None:
    required, _ = PROMPT_PLACEHOLDERS[name]
    missing = sorted(p for p in required if "{" + p + "}" not in text)
    if missing:
        raise TextSetError(
            f"{path}: template {name!r} lacks the placeholder(s) {', '.join('{' + p + '}' for p in missing)}"
        )


@cache
def builtin_prompt_set() -> PromptSet:
    """The project's own prompt templates."""
    templates = {}
    for name in PROMPT_PLACEHOLDERS:
        path = PROMPTS_DIR / f"{name}.md"
        templates[name] = read_text_file(path)
        _check_template(name, templates[name], path)
    return PromptSet(BUILTIN, templates)


def load_prompt_set(directory: str | Path | None) -> PromptSet:
    """The builtin templates, with those found in `directory` (if given) replacing ours, validated.

    Raises:
        TextSetError: not a directory, an unknown template file, a template without its placeholders, or no
            template at all.
    """
    builtin = builtin_prompt_set()
    if directory is None:
        return builtin
    folder = Path(directory)
    if not folder.is_dir():
        raise TextSetError(f"--prompt-dir {folder} is not a directory")
    templates = dict(builtin.templates)
    found: set[str] = set()
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".md", ".txt") or not path.is_file():
            continue
        if path.stem not in PROMPT_PLACEHOLDERS:
            raise TextSetError(f"{path}: unknown template name; use one of {', '.join(PROMPT_PLACEHOLDERS)}")
        if path.stem in found:
            raise TextSetError(f"{folder}: template {path.stem!r} given twice (.md and .txt); keep one")
        text = read_text_file(path)
        _check_template(path.stem, text, path)
        templates[path.stem] = text
        found.add(path.stem)
    if not found:
        raise TextSetError(f"--prompt-dir {folder}: no template found; expected {', '.join(PROMPT_PLACEHOLDERS)}.md")
    return PromptSet(str(folder), templates, frozenset(found))
