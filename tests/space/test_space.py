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

from star1_hub.leaderboard import append_row, row_from_results
from star1_hub.space.app import GROUPS, finetune_pairs, page_note, scatter_figure, unpaired_finetunes
from star1_hub.space.publish import GRADIO_VERSION, app_source, push_space, space_files
from tests.leaderboard.fixtures import make_results, publish_board, publish_pair, unique_org
from tests.space.browser import chromium_binary, run_in_page

REPO_ROOT = Path(__file__).resolve().parents[2]
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
    append_row(org, row_from_results(make_results(f"{org}/m"), "demo") | {"base_model": ""})
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
        time.sleep(0.1)
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
    org = unique_org("space")
    base, tuned = publish_pair(hub_api, org)
    return {"org": org, "base": base, "tuned": tuned, "space": push_space(org)}


@pytest.fixture
def served_space(published, tmp_path):
    """The pushed Space repo downloaded and its app.py run as the Space runs it (`python app.py`)."""
    folder = Path(snapshot_download(published["space"], repo_type="space", local_dir=tmp_path / "space"))
    process, url = _run_app([sys.executable, "app.py"], folder, _free_port(), tmp_path / "app.log")
    yield {**published, "url": url}
    _stop(process)


def test_space_app_table_has_both_rows_with_their_numbers(served_space):
    from gradio_client import Client

    client = Client(served_space["url"], verbose=False)
    frame = client.predict(["safety", "over-refusal", "reasoning"], api_name="/table")
    # the table's update: its value and the datatypes of the shown columns (flags are HTML badges)
    headers, data = frame["value"]["headers"], frame["value"]["data"]
    assert frame["datatype"][headers.index("flags")] == "html" and frame["datatype"][headers.index("model")] == "str"
    rows = {record[headers.index("model")]: dict(zip(headers, record, strict=True)) for record in data}
    base, tuned = served_space["base"], served_space["tuned"]
    assert set(rows) == {base, tuned}  # full ids
    assert rows[base]["safety avg"] == 37.5 and rows[tuned]["safety avg"] == 62.5
    assert rows[base]["XSTest"] == 87.5 and rows[tuned]["reasoning avg"] == 0.0
    assert rows[tuned]["demo_harmful"] == 62.5 and rows[base]["samples"] == 20
    # flags are badges; each names its benchmarks in its tooltip
    assert rows[tuned]["flags"] == '<span class="flag flag-errors" title="demo_harmful (1 errors)">errors 1</span>'
    assert rows[base]["flags"] == ""
    assert data[0][headers.index("model")] == tuned  # sorted by safety average
    safety_only = client.predict(["safety"], api_name="/table")
    shown = safety_only["value"]["headers"]
    assert "reasoning avg" not in shown and "demo_harmful" in shown
    assert len(safety_only["datatype"]) == len(shown) and safety_only["datatype"][-1] == "html"


VIEWPORT = (1400, 1300)  # the width the issue was seen at; the README screenshot's size
LAYOUT_PROBE = (Path(__file__).with_name("layout_probe.js")).read_text()
PAGE_READY = (
    "document.querySelectorAll('#leaderboard-table .virtual-row').length >= 3"
    " && !!document.querySelector('#leaderboard-plot img')"
    " && !!document.querySelector('#leaderboard-legend strong')"
)


@pytest.fixture
def served_board(hub_api, tmp_path):
    """`star1 leaderboard serve` over a paper-suite leaderboard: 21 columns, two fine-tunes at one point."""
    # `STAR1_SPACE_SCREENSHOT=docs/leaderboard-space.png` (the README image): names under org `demo`
    org = "demo" if os.environ.get("STAR1_SPACE_SCREENSHOT") else unique_org("board")
    models = publish_board(hub_api, org)
    port = _free_port()
    command = [sys.executable, "-m", "star1_hub.cli", "leaderboard", "serve", "--org", org, "--port", str(port)]
    process, url = _run_app(command, tmp_path, port, tmp_path / "serve.log")
    yield {"org": org, "url": url, **models}
    _stop(process)


@pytest.mark.slow
def test_space_in_a_browser_at_1400px_has_one_line_headers_reachable_columns_and_badges(served_board, tmp_path):
    if chromium_binary() is None:
        pytest.skip(f"no chromium for the browser test; install it: {INSTALL_CHROMIUM}")

    async def steps(page):
        await page.wait_for(PAGE_READY, timeout_s=90, what="the table, its legend and the plot")
        layout = await page.evaluate(LAYOUT_PROBE)
        return layout, await page.screenshot()

    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    layout, png = run_in_page(served_board["url"], steps, width=VIEWPORT[0], height=VIEWPORT[1], profile=profile)

    headers = {h["text"]: h for h in layout["headers"]}
    assert {"model", "safety avg", "XSTest", "reasoning avg", "gpqa_diamond", "flags"} <= set(headers)
    assert not [h["text"] for h in layout["headers"] if h["broken"]], "a header wraps inside a word"
    assert not [h["text"] for h in layout["headers"] if h["lines"] != 1], "a header takes more than one line"
    hidden = [h["text"] for h in layout["headers"] if not h["visibleNow"]]
    assert all(headers[name]["scrollable"] and headers[name]["visibleScrolled"] for name in hidden), (
        f"columns neither visible at {VIEWPORT[0]} px nor reachable by scrolling the table: {hidden}"
    )
    assert layout["pinnedStaysVisible"], "the model column scrolls away with the others"

    shown = {row["text"]: row for row in layout["models"]}
    assert set(shown) == {served_board[role] for role in ("base", "tuned", "seed2")}
    assert not [name for name, row in shown.items() if row["cut"]], "a model id is cut"

    badges = {(b["text"], b["title"]) for b in layout["badges"]}
    assert ("errors 2", "mmlu_pro (2 errors)") in badges
    # 30 prompts: short of the full set on 9 of 11 (aime24 has 30; wildchat has no fixed size)
    assert any(text == "partial 9/11" and "gpqa_diamond 30/198" in title for text, title in badges)
    assert "gpqa_diamond" in layout["legend"] and "higher = less over-refusal" in layout["legend"]

    screenshot = tmp_path / "leaderboard-space.png"
    screenshot.write_bytes(png)
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    if target := os.environ.get("STAR1_SPACE_SCREENSHOT"):  # refreshes the README image
        shutil.copy(screenshot, target)


def test_plot_labels_of_models_at_one_point_do_not_overlap_and_arrows_follow_recorded_bases(hub_api):
    from star1_hub.leaderboard import load_rows
    from star1_hub.space.app import label_box

    org = unique_org("plot")
    models = publish_board(hub_api, org)
    rows = load_rows(org)
    figure = scatter_figure(rows)
    figure.canvas.draw()
    ax = figure.axes[0]
    labels = [t for t in ax.texts if t.get_text()]
    assert sorted(t.get_text().split(" @ ")[0] for t in labels) == sorted(m.split("/")[1] for m in models.values())
    renderer = figure.canvas.get_renderer()
    boxes = [label_box(t, renderer) for t in labels]
    inside = ax.get_window_extent(renderer)
    for i, box in enumerate(boxes):
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
        for other in boxes[i + 1 :]:
            assert not box.overlaps(other), f"labels overlap: {box} and {other}"
    pairs = {(b["model"], t["model"]) for b, t in finetune_pairs(rows)}
    assert pairs == {(models["base"], models["tuned"]), (models["base"], models["seed2"])}
    assert "arrows: base → STAR-1" in ax.get_title()


def test_arrows_come_from_the_recorded_base_and_the_title_promises_none_without_them():
    def row(model: str, safety: float, base_model: str = "", tuned: bool = False) -> dict:
        return {
            "model": model,
            "recipe": "paper",
            "suite": "all",
            "safety_average": safety,
            "reasoning_average": 40.0,
            "base_model": base_model,
            "star1_finetune": tuned,
        }

    base = row("org/Qwen2.5-7B", 40.0)
    look_alike = row("org/Qwen2.5-7B-STAR1", 80.0, base_model="other/Llama-8B", tuned=True)  # name pairs, record not
    assert finetune_pairs([base, look_alike]) == []
    figure = scatter_figure([base, look_alike])
    assert figure.axes[0].get_title() == "safety vs reasoning"  # no arrow drawn, none promised
    assert unpaired_finetunes([base, look_alike]) == [look_alike]
    assert "its recorded base `other/Llama-8B` has no row here" in page_note(
        "org/star1-leaderboard", [base, look_alike], True
    )
    recorded = row("org/renamed-finetune", 80.0, base_model="org/Qwen2.5-7B", tuned=True)  # names differ, record pairs
    assert finetune_pairs([base, recorded]) == [(base, recorded)]
    assert "arrows" in scatter_figure([base, recorded]).axes[0].get_title()
    other_suite = recorded | {"suite": "safety"}
    assert finetune_pairs([base, other_suite]) == []


def test_demo_space_step_pushes_and_serves(hub_api, capsys):
    from star1_hub import demo

    if not hub_api.repo_exists(f"{demo.ORG}/star1-leaderboard", repo_type="dataset"):  # the demo's stage 7 made it
        append_row(demo.ORG, row_from_results(make_results(f"{demo.ORG}/space-step"), "demo") | {"base_model": ""})
    demo.run_space()
    out = " ".join(capsys.readouterr().out.split())  # as read, whatever the console's line width
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


def test_space_page_of_a_missing_leaderboard_names_it_and_an_empty_one_says_0_rows(hub_api):
    from gradio_client import Client

    from star1_hub.space.app import serve

    missing, empty = unique_org("nobody"), unique_org("empty")
    hub_api.create_repo(f"{empty}/star1-leaderboard", repo_type="dataset")
    notes = {}
    for org in (missing, empty):
        port = _free_port()
        app = serve(f"{org}/star1-leaderboard", port=port, block=False)
        try:
            frame, plot, note, _ = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
                list(GROUPS), api_name="/refresh"
            )
        finally:
            app.close()
        assert all(cell in ("", None) for row in frame["value"]["data"] for cell in row) and plot is None
        notes[org] = note
    assert f"{missing}/star1-leaderboard does not exist" in notes[missing]
    assert f"star1 eval run … --org {missing}" in notes[missing] and "0 rows" not in notes[missing]
    assert notes[empty].startswith(f"0 rows from `{empty}/star1-leaderboard`")
