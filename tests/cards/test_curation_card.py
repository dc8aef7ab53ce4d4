"""The curation card: stages in pipeline order, no plot for an empty stage, request counts as in the summary."""

from __future__ import annotations

from star1_hub.cards import CURATION_CONFIG_ORDER, render_card


def _record(stage: str, rows: int, sent: int, accounting: dict | None, cached: int = 0) -> dict:
    return {
        "stage": stage,
        "rows": rows,
        "counts": {
            "rows_in": 5,
            "sent": sent,
            "cached": cached,
            "ok": sent + cached,
            "failed": 0,
            "skipped": 0,
            "upstream_errors": 0,
            "dropped": 0,
            "note": "",
        },
        "input": {"repo": "org/STAR-41K", "config": None, "revision": "v1", "sha": "a" * 40},
        "pushed_at": "2026-12-01T08:00:00+00:00",
        "model": "m" if accounting else None,
        "base_url": "http://127.0.0.1:8000/v1",
        "params": {},
        "options": {},
        "policy_version": "v1",
        "policy_set_sha256": "b" * 64,
        "accounting": accounting,
        "features": {"id": "string"},
    }


def _accounting(sent: int, cached: int, http: int, retries: int, tokens: int) -> dict:
    return {
        "requests": sent,
        "requests_sent": http,
        "cached_hits": cached,
        "retries": retries,
        "prompt_tokens": tokens,
        "completion_tokens": tokens,
        "cost_usd": 0.0,
        "wall_s": 1.0,
    }


def _card(configs: dict) -> str:
    return render_card(
        "curation_card.md.jinja",
        front_matter="license: apache-2.0\n",
        repo_id="org/build",
        title="build",
        configs=configs,
    )


def test_stages_in_pipeline_order_whatever_the_manifest_order():
    configs = {  # a JSON manifest read back with sorted keys: alphabetical
        "classified": _record("classify", 5, 5, _accounting(5, 0, 5, 0, 10)),
        "default": _record("select", 2, 0, None),
        "filtered": _record("filter", 2, 0, None),
        "reasoned": _record("reason", 5, 5, _accounting(5, 0, 7, 2, 10)),
        "scored": _record("score", 5, 5, _accounting(5, 0, 5, 0, 10)),
    }
    card = _card(configs)
    sections = [card.index(f"## `{name}`") for name in ("classified", "reasoned", "scored", "filtered", "default")]
    assert sections == sorted(sections)
    rows = [card.index(f"| `{name}` |") for name in ("classified", "reasoned", "scored", "filtered", "default")]
    assert rows == sorted(rows)


def test_empty_stage_has_no_plot_and_requests_match_the_summary():
    configs = {
        "reasoned": _record("reason", 5, 5, _accounting(5, 0, 7, 2, 10)),
        "filtered": _record("filter", 0, 0, None),
        "scored": _record("score", 5, 0, _accounting(5, 5, 0, 0, 0), cached=5),
    }
    card = _card(configs)
    assert "plots/filtered.png" not in card and "No plot: this stage's output has no rows." in card
    assert "plots/reasoned.png" in card
    reasoned = card.split("## `reasoned`", 1)[1].split("## `", 1)[0]
    assert "sent 5, cached 0, failed 0; HTTP requests 7 (retries 2)" in reasoned
    scored = card.split("## `scored`", 1)[1]
    assert "sent 0, cached 5, failed 0" in scored and "every answer came from the request cache" in scored
    assert "| `scored` | score | 5 | 0 | 5 | 5 |" in card
    assert "| `filtered` | filter | 5 | 0 | – |" in card  # no model, so nothing could come from the cache


def test_a_record_written_before_counts_had_cached_takes_it_from_the_accounting():
    record = _record("score", 5, 5, _accounting(5, 5, 0, 0, 0))
    del record["counts"]["cached"]
    scored = _card({"scored": record}).split("## `scored`", 1)[1]
    assert "sent 5, cached 5, failed 0" in scored


def test_order_covers_every_stage_output_config():
    from star1_hub.curate.stage import STAGES

    outputs = {out for stage in STAGES.values() for _, out in stage.configs.values()}
    assert outputs <= set(CURATION_CONFIG_ORDER)
    for path in ("safety", "benign"):  # along each path a stage's output comes after its input
        for stage in STAGES.values():
            if path in stage.configs:
                source, out = stage.configs[path]
                if source in CURATION_CONFIG_ORDER and source != "default":
                    assert CURATION_CONFIG_ORDER.index(source) < CURATION_CONFIG_ORDER.index(out), stage.name
