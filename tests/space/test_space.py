"""The leaderboard Space: its repo files, the push to a Space repo, and the app as a person uses it
(through `gradio_client` and in a real headless browser)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import yaml
from huggingface_hub import snapshot_download

from star1_hub.space import GRADIO_VERSION, app_source, push_space, space_files
from tests.leaderboard.fixtures import publish_pair, unique_org

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
INSTALL_CHROMIUM = "apt-get update && apt-get install -y chromium   (Debian/Ubuntu, as root; `make test` does it)"


def _front_matter(readme: str) -> dict:
    assert readme.startswith("---\n")
    return yaml.safe_load(readme.split("---\n", 2)[1])


def test_space_files_have_the_gradio_front_matter_and_the_packaged_app():
    files = space_files("my-org")
    meta = _front_matter(files["README.md"])
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["sdk_version"] == GRADIO_VERSION and isinstance(meta["python_version"], str)
    assert meta["datasets"] == ["my-org/star1-leaderboard"]
    assert files["app.py"] == app_source() == (REPO_ROOT / "star1_hub/space/app.py").read_text()
    assert '"leaderboard_repo": "my-org/star1-leaderboard"' in files["space_config.json"]
    assert "huggingface_hub==1.33.0" in files["requirements.txt"]


def test_space_sdk_version_is_the_space_extra_pin():
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert f"gradio=={GRADIO_VERSION}" in extras["space"]


def test_push_space_commits_a_space_repo(hub_api):
    org = unique_org("space")
    space_id = push_space(org)
    assert space_id == f"{org}/star1-leaderboard-space"
    files = set(hub_api.list_repo_files(space_id, repo_type="space"))
    assert {"README.md", "app.py", "requirements.txt", "space_config.json"} <= files
    assert hub_api.space_info(space_id).sha == hub_api.list_repo_commits(space_id, repo_type="space")[0].commit_id
    push_space(org, f"{org}/custom-name")
    assert hub_api.repo_exists(f"{org}/custom-name", repo_type="space")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the app did not answer on {url} within {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


def _run_app(command: list[str], cwd: Path, port: int, log: Path):
    env = {
        **os.environ,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
    }
    env.pop("STAR1_LEADERBOARD_REPO", None)
    with open(log, "w") as handle:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for_http(url, process, log)
    except BaseException:
        process.kill()
        raise
    return process, url


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def published(hub_api):
    """Two published results (a base model and its STAR-1 fine-tune) and the org's Space."""
    # `STAR1_SPACE_SCREENSHOT=docs/leaderboard-space.png` (the README image): demo-like names under org `demo`
    org = "demo" if os.environ.get("STAR1_SPACE_SCREENSHOT") else unique_org("space")
    base, tuned = publish_pair(hub_api, org)
    return {"org": org, "base": base, "tuned": tuned, "space": push_space(org)}


@pytest.fixture
def served_space(published, tmp_path):
    """The pushed Space repo downloaded and its app.py run as the Space runs it (`python app.py`)."""
    folder = Path(snapshot_download(published["space"], repo_type="space", local_dir=tmp_path / "space"))
    process, url = _run_app([sys.executable, "app.py"], folder, _free_port(), tmp_path / "app.log")
    yield {**published, "url": url}
    _stop(process)


@pytest.fixture
def served_cli(published, tmp_path):
    """`star1 leaderboard serve --org ORG --port P`, the same app run locally by the CLI."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "star1_hub.cli",
        "leaderboard",
        "serve",
        "--org",
        published["org"],
        "--port",
        str(port),
    ]
    process, url = _run_app(command, tmp_path, port, tmp_path / "serve.log")
    yield {**published, "url": url}
    _stop(process)


def test_space_app_table_has_both_rows_with_their_numbers(served_space):
    from gradio_client import Client

    client = Client(served_space["url"], verbose=False)
    frame = client.predict(["safety", "over-refusal", "reasoning"], api_name="/table")
    headers, data = frame["headers"], frame["data"]
    rows = {record[headers.index("model")]: dict(zip(headers, record, strict=True)) for record in data}
    base, tuned = served_space["base"], served_space["tuned"]
    assert set(rows) == {base, tuned}  # full ids
    assert rows[base]["safety avg"] == 37.5 and rows[tuned]["safety avg"] == 62.5
    assert rows[base]["XSTest compliance"] == 87.5 and rows[tuned]["reasoning avg"] == 0.0
    assert rows[tuned]["demo_harmful"] == 62.5 and rows[base]["samples"] == 20
    assert "errors: demo_harmful (1 errors)" in rows[tuned]["flags"] and "partial" not in rows[base]["flags"]
    assert data[0][headers.index("model")] == tuned  # sorted by safety average
    safety_only = client.predict(["safety"], api_name="/table")
    assert "reasoning avg" not in safety_only["headers"] and "demo_harmful" in safety_only["headers"]


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


@pytest.mark.slow
def test_space_in_a_real_browser_shows_both_models(served_cli, tmp_path):
    browser = chromium_binary()
    if browser is None:
        pytest.skip(f"no chromium for the browser test; install it: {INSTALL_CHROMIUM}")
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    screenshot = tmp_path / "leaderboard-space.png"
    common = [
        browser,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--window-size=1400,1300",
        "--virtual-time-budget=20000",
    ]
    dom = subprocess.run([*common, "--dump-dom", served_cli["url"]], capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    table = dom.stdout[dom.stdout.find('id="leaderboard-table"') :]
    assert served_cli["base"] in table and served_cli["tuned"] in table, "the table shows both model ids"
    shot = subprocess.run(
        [*common, f"--screenshot={screenshot}", served_cli["url"]], capture_output=True, text=True, timeout=180
    )
    assert shot.returncode == 0 and screenshot.stat().st_size > 10_000, shot.stderr[-2000:]
    if target := os.environ.get("STAR1_SPACE_SCREENSHOT"):  # `make space-screenshot` refreshes the README image
        shutil.copy(screenshot, target)


def test_demo_space_step_pushes_and_serves(hub_api, capsys):
    from star1_hub import demo

    demo.run_space()
    out = capsys.readouterr().out
    assert hub_api.repo_exists(f"{demo.ORG}/star1-leaderboard-space", repo_type="space")
    assert "leaderboard Space served at http://127.0.0.1:" in out and "(HTTP 200)" in out
    assert f"star1 leaderboard serve --org {demo.ORG}" in out


def test_frame_handles_no_rows_and_rows_written_before_benchmarks_existed():
    from star1_hub.space.app import GROUPS, leaderboard_frame, scatter_figure

    empty = leaderboard_frame([], GROUPS)
    assert empty.empty and list(empty.columns)[:2] == ["model", "revision"]
    assert scatter_figure([]) is None
    legacy = {
        "model": "o/m",
        "revision": "",
        "recipe": "paper",
        "suite": "all",
        "safety_average": 80.0,
        "reasoning_average": None,
        "task:strongreject": 91.0,
    }
    frame = leaderboard_frame([legacy], ["safety", "reasoning"])
    assert frame.loc[0, "strongreject"] == 91.0 and frame.loc[0, "revision"] == "–"
    assert frame.loc[0, "reasoning avg"] is None or frame["reasoning avg"].isna().all()


def test_space_draws_rows_whose_revision_is_mathtext():
    """A `$` revision (a valid branch name) used to fail the figure, so the Space showed "Error"."""
    import gradio as gr

    from star1_hub.space.app import GROUPS, leaderboard_frame, scatter_figure

    rows = [
        {"model": "o/a", "revision": "v$\\foo$", "safety_average": 50.0, "reasoning_average": 40.0},
        {
            "model": "o/b",
            "revision": "<img src=x onerror=alert(1)>",
            "safety_average": 60.0,
            "reasoning_average": 30.0,
        },
    ]
    figure = scatter_figure(rows)
    plot = gr.Plot().postprocess(figure)  # what the Space does with the figure on page load
    assert plot is not None and plot.plot.startswith("data:image/")
    frame = leaderboard_frame(rows, GROUPS)
    assert set(frame["revision"]) == {"v$\\foo$", "<img src=x onerror=alert(1)>"}  # shown as text by the table
