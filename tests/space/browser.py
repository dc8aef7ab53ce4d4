"""A headless chromium driven over the DevTools protocol (CDP), for measuring the Space's layout as rendered.

`--dump-dom` gives the DOM but no layout; here the page is loaded in a real viewport and JavaScript runs in it
(`Runtime.evaluate`), so a test can read each element's rendered boxes. The websocket client is aiohttp's
(already installed with `datasets`); nothing beyond chromium itself is needed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DEVTOOLS_LINE = re.compile(r"DevTools listening on (ws://\S+)")


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


class BrowserError(RuntimeError):
    """The browser did not start, or the page did not reach the expected state in time."""


class Page:
    """One tab at a fixed viewport; `evaluate` runs an expression in the page and returns its JSON value."""

    def __init__(self, ws, loop_timeout_s: float):
        self._ws = ws
        self._next_id = 0
        self._timeout = loop_timeout_s

    async def send(self, method: str, **params) -> dict:
        self._next_id += 1
        message_id = self._next_id
        await self._ws.send_str(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = await asyncio.wait_for(self._ws.receive_json(), timeout=self._timeout)
            if message.get("id") == message_id:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                return message.get("result", {})

    async def evaluate(self, expression: str):
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if await self.evaluate(expression):
                return
            await asyncio.sleep(0.25)
        raise BrowserError(f"the page did not show {what} within {timeout_s:.0f} s")

    async def screenshot(self) -> bytes:
        return base64.b64decode((await self.send("Page.captureScreenshot", format="png"))["data"])


def run_in_page(url: str, steps, *, width: int, height: int, profile: Path, timeout_s: float = 120.0):
    """Open `url` in headless chromium at `width` x `height` CSS px and return `await steps(page)`.

    Raises:
        BrowserError: chromium is missing, does not start, or a step fails.
    """
    import aiohttp

    browser = chromium_binary()
    if browser is None:
        raise BrowserError("no chromium")
    process = subprocess.Popen(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        browser_ws = None
        seen: list[str] = []
        deadline = time.monotonic() + 60
        while browser_ws is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                raise BrowserError(f"chromium exited with {process.returncode}: {''.join(seen)[-2000:]}")
            seen.append(line)
            if match := DEVTOOLS_LINE.search(line):
                browser_ws = match.group(1)
        if browser_ws is None:
            raise BrowserError(f"chromium printed no DevTools address: {''.join(seen)[-2000:]}")
        http_base = "http://" + browser_ws.split("/")[2]

        async def session():
            async with aiohttp.ClientSession() as client:
                async with client.put(f"{http_base}/json/new?about:blank") as response:
                    target = await response.json(content_type=None)
                async with client.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    page = Page(ws, timeout_s)
                    await page.send(
                        "Emulation.setDeviceMetricsOverride",
                        width=width,
                        height=height,
                        deviceScaleFactor=1,
                        mobile=False,
                    )
                    await page.send("Page.enable")
                    await page.send("Page.navigate", url=url)
                    return await asyncio.wait_for(steps(page), timeout=timeout_s)

        return asyncio.run(session())
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
