"""The 18 training sources and the decontamination test sets (docs/curation.md, "Sources"), WildChat included.

Every entry is declarative: where the data lives (a Hub dataset, files in a Hub dataset repo, or a raw file in a
GitHub repository), the revision, config, splits, text field, row filter and self-dedup n. Loading is in
`source_loader.py`; every origin, including a local override file, is parsed by the same code.

Pinning policy. `revision` is a full 40-hex commit sha or a tag (`refs/tags/...`), or None. `pinned=True` means the
revision was verified to contain the file(s) (GitHub commits were checked against a stored index of the public
repositories while writing this table). Hub dataset commits could not be looked up offline, so those entries
have `pinned=False` and say why in `pin_note`: the loader then reads the default branch, resolves it to its
commit sha and records that sha (and a sha256 of every raw file) in the manifest, so each run is reproducible
from its card even where this table is not yet pinned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from star1_hub.data.wildchat import WILDCHAT_REPO

Origin = Literal["hub", "hub_files", "github"]
FileFormat = Literal["csv", "tsv", "json", "jsonl", "txt", "parquet"]
LOCAL_EXTENSIONS: tuple[str, ...] = ("csv", "tsv", "json", "jsonl", "txt", "parquet")

_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_HUB_UNPINNED = (
    "Hub dataset commit not verifiable offline when this table was written; the loader resolves the default "
    "branch to its commit sha at run time and records it in the manifest/card."
)


def is_full_sha_or_tag(revision: str) -> bool:
    """True for a full 40-hex commit sha or a tag ref (`refs/tags/<name>`); branches are not pins."""
    return bool(_SHA_RE.match(revision)) or (revision.startswith("refs/tags/") and len(revision) > len("refs/tags/"))


@dataclass(frozen=True)
class FieldFilter:
    """Keep rows whose `field` equals (`op="eq"`) or differs from (`op="ne"`) `value`.

    Booleans compare equal to their CSV spellings ("True"/"true"/"1"), so a local CSV filters like the Hub data.
    """

    field: str
    op: Literal["eq", "ne"]
    value: str | bool | int


@dataclass(frozen=True)
class Source:
    """One collection source (a training source or a test set)."""

    name: str
    role: Literal["train", "test"]
    origin: Origin
    repo: str
    revision: str | None
    pinned: bool
    pin_note: str = ""
    files: tuple[str, ...] = ()  # for hub_files / github: paths (hub_files may use one `*` glob)
    file_format: FileFormat | None = None
    csv_header: bool = True
    json_key: str | None = None  # JSON object key holding the list of rows
    config: str | None = None
    splits: tuple[str, ...] = ("train",)
    text_field: str | None = None  # None: the table has a single column (header-less CSV, list of strings, lines)
    filters: tuple[FieldFilter, ...] = ()
    sample: tuple[int, int] | None = None  # (seed, n): datasets' shuffle(seed) then the first n rows
    transform: Literal["strip_alert_markers"] | None = None
    selector: Literal["wildchat_toxic"] | None = None
    self_dedup_n: int = 8
    gated: bool = False
    expected_rows: str = ""  # size noted in the original code, for the card

    def __post_init__(self) -> None:
        if self.revision is not None and not is_full_sha_or_tag(self.revision):
            raise ValueError(
                f"source {self.name}: revision {self.revision!r} must be a full 40-hex sha or refs/tags/…"
            )
        if self.pinned and self.revision is None:
            raise ValueError(f"source {self.name}: pinned=True needs a revision")
        if not self.pinned and not self.pin_note:
            raise ValueError(f"source {self.name}: an unpinned source must say why in pin_note")
        if self.origin != "hub" and not self.files:
            raise ValueError(f"source {self.name}: origin {self.origin} needs `files`")

    @property
    def location(self) -> str:
        """Human-readable origin, for messages and the card."""
        if self.origin == "github":
            return f"github.com/{self.repo} " + ", ".join(self.files)
        suffix = f" ({', '.join(self.files)})" if self.files else ""
        return f"hf.co/datasets/{self.repo}{suffix}"


def _gh(name: str, repo: str, path: str | tuple[str, ...], fmt: FileFormat, *, revision=None, note="", **kw) -> Source:
    files = (path,) if isinstance(path, str) else path
    return Source(
        name=name,
        role=kw.pop("role", "train"),
        origin="github",
        repo=repo,
        revision=revision,
        pinned=revision is not None and not note,
        pin_note=note,
        files=files,
        file_format=fmt,
        **kw,
    )


def _hub(name: str, repo: str, **kw) -> Source:
    return Source(name=name, role=kw.pop("role", "train"), origin="hub", repo=repo, revision=None, pinned=False,
                  pin_note=kw.pop("pin_note", _HUB_UNPINNED), **kw)  # fmt: skip


_GH_NOT_INDEXED = "GitHub repository/file not found in the offline index used to pin commits; read at branch HEAD."
_STL = "vinid/safety-tuned-llamas"

TRAIN_SOURCES: tuple[Source, ...] = (
    _gh("GPTFuzz", "sherdencooper/GPTFuzz", "datasets/questions/question_list.csv", "csv",
        revision="9221bbfd97488369c14bc8b095b67f2c42339146", text_field="text", expected_rows="100"),
    _hub("SimpleSafetyTests", "Bertievidgen/SimpleSafetyTests", splits=("test",), text_field="prompt",
         expected_rows="100"),
    _gh("MaliciousInstruct", "Princeton-SysML/Jailbreak_LLM", "data/MaliciousInstruct.txt", "txt",
        note=_GH_NOT_INDEXED + " (the repository is indexed but not this file)", expected_rows="100"),
    _gh("QHarm", _STL, "data/evaluation/Q-Harm.json", "json", json_key="instructions",
        revision="347bea9eaeb8cd82214fe604f1f9b1b134acd869", expected_rows="100"),
    _gh("TDCRedTeaming", "centerforaisafety/tdc2023-starter-kit",
        ("red_teaming/data/dev/behaviors.json", "red_teaming/data/test/behaviors.json"), "json",
        note=_GH_NOT_INDEXED, expected_rows="100"),
    _gh("MaliciousInstructions", _STL, "data/evaluation/I-MaliciousInstructions.json", "json",
        json_key="instructions", revision="3ce5779d564ec1f3d87b0bef87261328c8abbd25",
        note="commit verified for the sibling files data/evaluation/I-*.json, not for this file itself",
        expected_rows="100"),
    _gh("HarmfulQ", "SALT-NLP/chain-of-thought-bias", "data/dangerous-q/toxic_outs.json", "json",
        text_field="text", note=_GH_NOT_INDEXED + " (commit 445568d3… holds data/dangerous-q/ but not this file)",
        expected_rows="200"),
    Source("HExPHI", "train", "hub_files", "LLM-Tuning-Safety/HEx-PHI", None, False, _HUB_UNPINNED,
           files=("category_*.csv",), file_format="csv", csv_header=False, gated=True, expected_rows="330"),
    _gh("HarmBench", "centerforaisafety/HarmBench", "data/behavior_datasets/harmbench_behaviors_text_all.csv",
        "csv", text_field="Behavior", filters=(FieldFilter("FunctionalCategory", "ne", "contextual"),),
        note=_GH_NOT_INDEXED, expected_rows="300"),
    _hub("AttaQ", "ibm-research/AttaQ", text_field="input", self_dedup_n=7, expected_rows="1.4k"),
    _hub("HarmfulQA", "declare-lab/HarmfulQA", text_field="question", self_dedup_n=7, expected_rows="2k"),
    _gh("SafetyInstructions", _STL, "data/training/safety_only_data_Instructions.json", "json",
        revision="3ce5779d564ec1f3d87b0bef87261328c8abbd25", text_field="instruction", self_dedup_n=7,
        expected_rows="2.5k"),
    _hub("UltraSafety", "openbmb/UltraSafety", text_field="instruction", self_dedup_n=7, expected_rows="3k"),
    _hub("ALERT", "Babelscape/ALERT", config="alert", splits=("test",), text_field="prompt",
         transform="strip_alert_markers", self_dedup_n=7, gated=True, expected_rows="14.8k"),
    _hub("SaladBench", "OpenSafetyLab/Salad-Data", config="base_set", text_field="question", expected_rows="21.3k"),
    _hub("PKUSafeRLHF", "PKU-Alignment/PKU-SafeRLHF", config="default", splits=("train", "test"),
         text_field="prompt", self_dedup_n=6, expected_rows="36.3k",
         filters=(FieldFilter("is_response_0_safe", "eq", False), FieldFilter("is_response_1_safe", "eq", False))),
    _hub("BeaverTails", "PKU-Alignment/BeaverTails", splits=("330k_train", "330k_test"), text_field="prompt",
         filters=(FieldFilter("is_safe", "eq", False),), self_dedup_n=5, expected_rows="185.1k"),
    Source("wildjailbreak", "train", "hub_files", "allenai/wildjailbreak", None, False, _HUB_UNPINNED,
           files=("train/train.tsv",), file_format="tsv", text_field="vanilla", self_dedup_n=5, gated=True,
           expected_rows="261k"),
)  # fmt: skip

TEST_SOURCES: tuple[Source, ...] = (
    _gh("StrongREJECT", "alexandrasouly/strongreject", "strongreject_dataset/strongreject_dataset.csv", "csv",
        role="test", text_field="forbidden_prompt", note=_GH_NOT_INDEXED, expected_rows="313"),
    _hub("JBB-Behaviors", "JailbreakBench/JBB-Behaviors", role="test", config="behaviors", splits=("harmful",),
         text_field="Goal", expected_rows="100"),
    _gh("SG-Bench", "MurrayTom/SG-Bench", "datasets/SG-Bench/original_query/malicious_instruction.json", "json",
        role="test", text_field="query", note=_GH_NOT_INDEXED + " (the repository is indexed but not this file)",
        expected_rows="1,442"),
    Source("WildJailbreak-eval", "test", "hub_files", "allenai/wildjailbreak", None, False, _HUB_UNPINNED,
           files=("eval/eval.tsv",), file_format="tsv", text_field="adversarial",
           filters=(FieldFilter("data_type", "eq", "adversarial_harmful"),), sample=(42, 250), gated=True,
           expected_rows="250"),
    # github.com/paul-rottger/xstest was first published as paul-rottger/exaggerated-safety (GitHub redirects)
    _gh("XSTest", "paul-rottger/exaggerated-safety", "xstest_prompts.csv", "csv", role="test",
        revision="475f10bf0a3d6a9dfb174b6de1a38afbfdff98a5", text_field="prompt",
        filters=(FieldFilter("label", "eq", "safe"),), expected_rows="250"),
    # The original never decontaminated against WildChat (docs/deviations.md); the toxic rows exist only in the
    # gated full release (docs/curation.md, "WildChat"), hence its id here.
    _hub("WildChat", WILDCHAT_REPO, role="test", text_field="question", selector="wildchat_toxic",
         filters=(FieldFilter("toxic", "eq", True), FieldFilter("turn", "eq", 1),
                  FieldFilter("language", "eq", "English")), gated=True, expected_rows="≈370"),
)  # fmt: skip

ALL_SOURCES: dict[str, Source] = {s.name: s for s in TRAIN_SOURCES + TEST_SOURCES}


def get_source(name: str) -> Source:
    """Return the registry entry called `name` (case-sensitive, as in the `source` column)."""
    try:
        return ALL_SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown source {name!r}; choose one of {', '.join(ALL_SOURCES)}") from None


def canonical_source_name(name: str) -> str:
    """The registry spelling of `name`, matched case-insensitively (`wildchat` → `WildChat`)."""
    if name in ALL_SOURCES:
        return name
    folded = {key.casefold(): key for key in ALL_SOURCES}
    if name.casefold() in folded:
        return folded[name.casefold()]
    raise ValueError(f"unknown source {name!r}; choose one of {', '.join(ALL_SOURCES)}")


def select_sources(
    names: list[str] | None, role: Literal["train", "test"], skip: list[str] | None = None
) -> list[Source]:
    """Return the sources of `role` named in `names` (all of them if None), minus `skip`, in registry order.

    Raises:
        ValueError: an unknown name, a name of the other role, or a skipped name that is not selected.
    """
    pool = TRAIN_SOURCES if role == "train" else TEST_SOURCES
    wanted = {s.name for s in pool} if names is None else {canonical_source_name(n) for n in names}
    for name in wanted:
        source = get_source(name)
        if source.role != role:
            raise ValueError(f"source {name!r} is a {source.role} source, not a {role} source")
    for raw in skip or []:
        name = canonical_source_name(raw)
        if name not in wanted:
            raise ValueError(f"cannot skip {raw!r}: it is not among the selected {role} sources {sorted(wanted)}")
        wanted.discard(name)
    return [s for s in pool if s.name in wanted]


@dataclass
class PinReport:
    """Which sources are pinned, for the lead's report and the card."""

    pinned: list[str] = field(default_factory=list)
    unpinned: dict[str, str] = field(default_factory=dict)


def pin_report() -> PinReport:
    """Summarise the registry's pins."""
    report = PinReport()
    for source in TRAIN_SOURCES + TEST_SOURCES:
        if source.pinned:
            report.pinned.append(source.name)
        else:
            report.unpinned[source.name] = source.pin_note
    return report
