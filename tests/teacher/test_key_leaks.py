"""A planted key never leaves the process in any form: not echoed by a 200 reply, not split or URL-encoded in a
401, not half in a DEBUG line, not inside a base URL. Every file written and every captured log line is searched
for every 8-character fragment of every form of the key."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest

from star1_hub.errors import RecipeError
from star1_hub.teacher import EngineConfig, TeacherEngine
from star1_hub.teacher.endpoint import EndpointConfig
from star1_hub.teacher.redact import MIN_FRAGMENT, redact, scrub, secret_forms
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import fast_config, questions

# Planted key with characters that URL- and JSON-encoding change (+ / =), as base64-style keys have.
KEY = "sk-plant3d+K3y/0123456789abcdefXYZ=="


def leaks(text: str, key: str = KEY) -> list[str]:
    """Every 8-character fragment of any form of `key` found in `text`."""
    return sorted(
        {
            form[i : i + MIN_FRAGMENT]
            for form in secret_forms(key)
            for i in range(len(form) - MIN_FRAGMENT + 1)
            if form[i : i + MIN_FRAGMENT] in text
        }
    )


def written(tmp_path, caplog, results) -> str:
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    details = [json.dumps([r.text, r.reasoning, r.error_detail]) for r in results]
    return "\n".join([caplog.text, files.decode("latin-1"), *details])


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    names = ("openai", "httpx2", "httpx", "httpcore", "aiohttp", "star1_hub")
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield caplog
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


ECHOES = {
    "plain": lambda key: f"your key is {key}",
    "url-encoded": lambda key: f"key={quote(key, safe='')}",
    "json-escaped": lambda key: json.dumps({"k": key}).replace("/", "\\/"),
    "split across lines": lambda key: f"first half {key[:17]}\nsecond half {key[17:]}",
    "split across fields": lambda key: json.dumps({"a": key[:12], "b": key[12:24], "c": key[24:]}),
    "truncated": lambda key: f"prefix {key[:10]}",
}


@pytest.mark.parametrize("transport", ["openai", "aiohttp"])
@pytest.mark.parametrize("form", sorted(ECHOES))
def test_key_echoed_in_a_200_reply_is_not_cached_logged_or_returned(tmp_path, debug_logs, transport, form):
    def responder(body):
        return f"<think>{ECHOES[form](KEY)}</think> answer {ECHOES[form](KEY)}"

    with ScriptedServer(responder=responder, reasoning_form="split") as server:
        engine = TeacherEngine(
            fast_config(server.base_url, api_key=KEY, cache_dir=tmp_path / "cache", transport=transport)
        )
        results = engine.run(questions(3))
        assert server.authorizations[f"Bearer {KEY}"] == 3  # the key was really sent
    assert all(r.ok for r in results)
    assert "[REDACTED]" in results[0].text and "[REDACTED]" in results[0].reasoning
    engine.close()
    again = TeacherEngine(fast_config("http://127.0.0.1:9/v1", api_key=KEY, cache_dir=tmp_path / "cache"))
    assert again.cache.count_results() == 3  # the scrubbed replies are what the cache holds
    assert leaks(written(tmp_path, debug_logs, results)) == []


@pytest.mark.parametrize("transport", ["openai", "aiohttp"])
@pytest.mark.parametrize("form", sorted(ECHOES))
def test_key_echoed_in_a_401_in_any_form_is_redacted_everywhere(tmp_path, debug_logs, transport, form):
    with ScriptedServer(faults={"auth": 1.0}, auth_echo=ECHOES[form]) as server:
        engine = TeacherEngine(
            fast_config(server.base_url, api_key=KEY, cache_dir=tmp_path / "cache", transport=transport)
        )
        results = engine.run(questions(3))
    assert all(r.error == "auth" and "HTTP 401" in r.error_detail for r in results)
    assert debug_logs.records, "nothing was logged: the test would prove nothing"
    assert leaks(written(tmp_path, debug_logs, results)) == []


def test_half_a_key_in_a_log_line_is_redacted(debug_logs):
    TeacherEngine(
        EngineConfig(base_url="http://127.0.0.1:9/v1", model="m", api_key=KEY, progress=False)
    )  # installs the log redaction, registers the key
    logging.getLogger("star1_hub.test").debug("header was %s…", KEY[: len(KEY) // 2])
    logging.getLogger("some.library").warning("auth failed for key ending %s", KEY[-12:])
    assert leaks(debug_logs.text) == []
    assert debug_logs.text.count("[REDACTED]") == 2


def test_redaction_keeps_ordinary_text_and_key_shaped_words_in_replies():
    text = "Use an environment variable such as OPENAI_API_KEY; a key looks like sk-xxxxxxxxxxxxxxxx."
    assert scrub(text, KEY) == text  # model output: only known secrets are removed
    assert "sk-xxxx" not in redact(text, KEY)  # details and logs: key-shaped tokens go too
    assert scrub(f"a{KEY}b", KEY) == "a[REDACTED]b"


@pytest.mark.parametrize(
    "url",
    [
        f"https://user:{KEY}@api.example.com/v1",
        f"https://{KEY}@api.example.com/v1",
        f"https://api.example.com/v1?api-key={quote(KEY, safe='')}",
        "https://api.example.com/v1?key=AIzaSyPlantedValue",
        f"https://api.example.com/v1?x={quote(KEY, safe='')}",
        f"https://api.example.com/{KEY}/v1",
    ],
)
def test_credentials_in_base_url_are_refused_without_repeating_them(url):
    with pytest.raises(RecipeError, match="star1.yaml: teacher: `base_url` carries credentials") as caught:
        EndpointConfig.from_mapping({"base_url": url, "model": "m"}, where="star1.yaml: teacher")
    assert leaks(str(caught.value)) == [] and "AIzaSy" not in str(caught.value)
    with pytest.raises(ValueError, match="`base_url` carries credentials") as caught:
        EngineConfig(base_url=url, model="m")
    assert leaks(str(caught.value)) == []


def test_plain_base_urls_are_accepted():
    for url in (
        "http://127.0.0.1:8000/v1",
        "https://api.openai.com/v1",
        "https://x.openai.azure.com/v1?api-version=2024",
    ):
        assert EndpointConfig(base_url=url, model="m").base_url == url


def test_every_fragment_of_8_or_more_characters_at_any_offset_is_removed():
    for start in range(len(KEY) - MIN_FRAGMENT + 1):
        for end in range(start + MIN_FRAGMENT, len(KEY) + 1):
            fragment = KEY[start:end]
            cleaned = scrub(f"prefix — {fragment} — suffix", KEY)
            assert leaks(cleaned) == [], (start, end, cleaned)
            assert cleaned.startswith("prefix — ") and cleaned.endswith(" — suffix")
    assert scrub(f"x {KEY[:7]} y", KEY) == f"x {KEY[:7]} y"  # shorter pieces are not the key (nor fragments)


def test_star1_eval_refuses_a_base_url_with_credentials_before_printing_it():
    from typer.testing import CliRunner

    from star1_hub.cli import app

    url = f"http://user:{quote(KEY, safe='')}@127.0.0.1:9/v1"
    result = CliRunner().invoke(app, ["eval", "run", "--model", "org/m", "--suite", "demo", "--base-url", url])
    assert result.exit_code == 2 and "carries credentials" in result.output and "--base-url" in result.output
    assert leaks(result.output) == []
