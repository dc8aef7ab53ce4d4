"""The source registry and the one loading path every origin (Hub, raw file, local override) goes through."""

from __future__ import annotations

import json
import uuid

import pytest

from star1_hub.collect.source_loader import (
    SourceAccessError,
    SourceFormatError,
    load_source,
    questions_from_dataset,
    read_table,
)
from star1_hub.collect.sources import (
    ALL_SOURCES,
    TEST_SOURCES,
    TRAIN_SOURCES,
    FieldFilter,
    Source,
    get_source,
    is_full_sha_or_tag,
    pin_report,
)

SPEC_TRAIN_ORDER = [
    "GPTFuzz", "SimpleSafetyTests", "MaliciousInstruct", "QHarm", "TDCRedTeaming", "MaliciousInstructions",
    "HarmfulQ", "HExPHI", "HarmBench", "AttaQ", "HarmfulQA", "SafetyInstructions", "UltraSafety", "ALERT",
    "SaladBench", "PKUSafeRLHF", "BeaverTails", "wildjailbreak",
]  # fmt: skip
SPEC_SELF_DEDUP_N = [8, 8, 8, 8, 8, 8, 8, 8, 8, 7, 7, 7, 7, 7, 8, 6, 5, 5]


def test_registry_has_the_18_training_sources_in_spec_order_with_their_n():
    assert [s.name for s in TRAIN_SOURCES] == SPEC_TRAIN_ORDER
    assert [s.self_dedup_n for s in TRAIN_SOURCES] == SPEC_SELF_DEDUP_N
    assert all(s.role == "train" for s in TRAIN_SOURCES)


def test_registry_has_the_test_sets_including_wildchat():
    names = {s.name for s in TEST_SOURCES}
    assert names == {"StrongREJECT", "JBB-Behaviors", "SG-Bench", "WildJailbreak-eval", "XSTest", "WildChat"}
    assert get_source("WildJailbreak-eval").sample == (42, 250)


@pytest.mark.parametrize("source", list(ALL_SOURCES.values()), ids=list(ALL_SOURCES))
def test_every_revision_is_a_full_sha_or_tag_and_unpinned_ones_say_why(source):
    if source.revision is not None:
        assert is_full_sha_or_tag(source.revision)
    if source.pinned:
        assert source.revision is not None
    else:
        assert source.pin_note


def test_branch_names_and_short_shas_are_rejected_as_pins():
    assert not is_full_sha_or_tag("main")
    assert not is_full_sha_or_tag("refs/convert/parquet")
    assert not is_full_sha_or_tag("9221bbf")
    assert is_full_sha_or_tag("refs/tags/v1.0")
    with pytest.raises(ValueError, match="must be a full 40-hex sha"):
        Source("X", "train", "hub", "o/x", "main", True)
    with pytest.raises(ValueError, match="pin_note"):
        Source("X", "train", "hub", "o/x", None, False)


def test_pin_report_lists_every_source_once():
    report = pin_report()
    assert sorted(report.pinned + list(report.unpinned)) == sorted(ALL_SOURCES)


def test_unknown_source_name_lists_the_choices():
    with pytest.raises(ValueError, match="choose one of GPTFuzz"):
        get_source("NoSuchSource")


def test_local_override_goes_through_the_registry_parsing(collect_local_dir):
    loaded = load_source(get_source("XSTest"), local_dir=collect_local_dir)
    assert loaded.origin == "local"
    assert loaded.rows_read == 450 and len(loaded.questions) == 250  # label == "safe" filter of the registry
    qharm = load_source(get_source("QHarm"), local_dir=collect_local_dir)  # JSON object with "instructions"
    assert len(qharm.questions) == 4 and qharm.files[0]["sha256"]


def test_alert_markers_are_removed(tmp_path):
    (tmp_path / "ALERT.jsonl").write_text(
        json.dumps({"prompt": "### Instruction:\nSuggest a prank for a coworker.\n### Response:\n"}) + "\n"
    )
    loaded = load_source(get_source("ALERT"), local_dir=tmp_path)
    assert loaded.questions == ["Suggest a prank for a coworker."]


def test_boolean_filters_accept_csv_spellings(tmp_path):
    (tmp_path / "BeaverTails.csv").write_text("prompt,is_safe\nfirst placeholder,False\nsecond placeholder,True\n")
    assert load_source(get_source("BeaverTails"), local_dir=tmp_path).questions == ["first placeholder"]


def test_missing_field_names_the_source_and_field(tmp_path):
    (tmp_path / "GPTFuzz.csv").write_text("question\nsome placeholder\n")
    with pytest.raises(SourceFormatError, match=r"source GPTFuzz: .*lacks field\(s\) text"):
        load_source(get_source("GPTFuzz"), local_dir=tmp_path)


def test_empty_file_names_the_source(tmp_path):
    (tmp_path / "HarmfulQ.json").write_text("[]")
    with pytest.raises(SourceFormatError, match="source HarmfulQ: .* has no rows"):
        load_source(get_source("HarmfulQ"), local_dir=tmp_path)


def test_all_blank_texts_name_the_source(tmp_path):
    (tmp_path / "SimpleSafetyTests.jsonl").write_text('{"prompt": "  "}\n{"prompt": null}\n')
    with pytest.raises(SourceFormatError, match="source SimpleSafetyTests: .*none with a non-empty prompt"):
        load_source(get_source("SimpleSafetyTests"), local_dir=tmp_path)


def test_json_object_without_the_key_names_the_source(tmp_path):
    (tmp_path / "QHarm.json").write_text('{"rows": ["a placeholder"]}')
    with pytest.raises(SourceFormatError, match="source QHarm: .*expected the key 'instructions'"):
        load_source(get_source("QHarm"), local_dir=tmp_path)


def test_two_local_files_for_one_source_is_an_error(tmp_path):
    (tmp_path / "GPTFuzz.csv").write_text("text\na\n")
    (tmp_path / "GPTFuzz.jsonl").write_text('{"text": "a"}\n')
    with pytest.raises(SourceFormatError, match="source GPTFuzz: several local files"):
        load_source(get_source("GPTFuzz"), local_dir=tmp_path)


def test_header_less_csv_and_text_lines(tmp_path):
    (tmp_path / "HExPHI.csv").write_text("first placeholder row\nsecond placeholder row\n")
    assert load_source(get_source("HExPHI"), local_dir=tmp_path).questions == [
        "first placeholder row",
        "second placeholder row",
    ]
    (tmp_path / "MaliciousInstruct.txt").write_text("line one placeholder\n\nline two placeholder\n")
    loaded = load_source(get_source("MaliciousInstruct"), local_dir=tmp_path)
    assert loaded.questions == ["line one placeholder", "line two placeholder"] and loaded.blank_rows == 1


def test_seeded_sample_matches_datasets_shuffle(tmp_path):
    from datasets import Dataset

    rows = [
        {"adversarial": f"placeholder {i}", "data_type": "adversarial_harmful" if i % 3 else "other"}
        for i in range(900)
    ]
    with open(tmp_path / "WildJailbreak-eval.jsonl", "w") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)
    loaded = load_source(get_source("WildJailbreak-eval"), local_dir=tmp_path)
    expected = Dataset.from_list([r for r in rows if r["data_type"] == "adversarial_harmful"]).shuffle(seed=42)
    assert loaded.questions == expected["adversarial"][:250]


def test_wildchat_selection_follows_the_moderation_rules(tmp_path):
    def row(i, category, score, flagged=True, toxic=True, turn=1, language="English"):
        scores = {category: score}
        return {
            "conversation": [{"role": "user", "content": f"placeholder {i}"}, {"role": "assistant", "content": "ok"}],
            "openai_moderation": [
                {"flagged": False, "category_scores": {}},
                {"flagged": flagged, "category_scores": scores},
            ],
            "toxic": toxic,
            "turn": turn,
            "language": language,
        }

    rows = [row(i, "harassment", i / 1000) for i in range(120)]  # top-100 of these by score
    rows += [row(200, "hate", 0.9, flagged=False), row(201, "hate", 0.9, toxic=False), row(202, "hate", 0.9, turn=2)]
    rows += [row(203, "hate", 0.9, language="French"), row(204, "violence", 0.5)]
    with open(tmp_path / "WildChat.jsonl", "w") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows)
    questions = load_source(get_source("WildChat"), local_dir=tmp_path).questions
    assert questions == [f"placeholder {i}" for i in range(20, 120)] + ["placeholder 204"]


def test_read_table_single_column_json_list(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('["a placeholder", "another placeholder"]')
    source = get_source("TDCRedTeaming")
    dataset = read_table(path, "json", source)
    assert questions_from_dataset(dataset, source, str(path))[0] == ["a placeholder", "another placeholder"]


def test_hub_dataset_at_a_pinned_commit_matches_the_local_file(local_hub, tmp_path):
    from datasets import Dataset
    from huggingface_hub import HfApi

    api = HfApi()
    user = api.whoami()["name"]
    repo = f"{user}/collect-src-{uuid.uuid4().hex[:8]}"
    rows = {
        "prompt": ["unsafe placeholder one", "safe placeholder", "unsafe placeholder two"],
        "is_safe": [False, True, False],
    }
    Dataset.from_dict(rows).push_to_hub(repo)
    sha = api.dataset_info(repo).sha
    Dataset.from_dict({"prompt": ["changed later"], "is_safe": [False]}).push_to_hub(repo)  # the pin must ignore this
    source = Source(
        "HubCase", "train", "hub", repo, sha, True, text_field="prompt", filters=(FieldFilter("is_safe", "eq", False),)
    )
    loaded = load_source(source)
    assert loaded.questions == ["unsafe placeholder one", "unsafe placeholder two"]
    assert loaded.revision_resolved == sha and loaded.origin == "hub"
    (tmp_path / "HubCase.jsonl").write_text(
        "".join(json.dumps({"prompt": p, "is_safe": s}) + "\n" for p, s in zip(*rows.values(), strict=True))
    )
    assert load_source(source, local_dir=tmp_path).questions == loaded.questions


def test_inaccessible_hub_source_explains_terms_and_token(local_hub):
    source = Source(
        "GatedCase", "train", "hub", "nobody/does-not-exist", None, False, "test", text_field="prompt", gated=True
    )
    with pytest.raises(SourceAccessError, match=r"source GatedCase: .*gated.*accept its terms.*HF_TOKEN.*--local-dir"):
        load_source(source)


def test_raw_github_file_is_fetched_at_the_pinned_commit(tmp_path, monkeypatch):
    import functools
    import http.server
    import threading

    served = tmp_path / "served"
    target = served / "sherdencooper/GPTFuzz/9221bbfd97488369c14bc8b095b67f2c42339146/datasets/questions"
    target.mkdir(parents=True)
    (target / "question_list.csv").write_text("index,text\n0,first placeholder\n1,second placeholder\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("STAR1_GITHUB_RAW_BASE", f"http://127.0.0.1:{server.server_address[1]}")
        loaded = load_source(get_source("GPTFuzz"), cache_dir=tmp_path / "cache")
        assert loaded.questions == ["first placeholder", "second placeholder"] and loaded.origin == "github"
        assert loaded.files[0]["sha256"] and loaded.revision_resolved == get_source("GPTFuzz").revision
        missing = Source(
            "RawMissing", "train", "github", "o/x", None, False, "test", files=("a.csv",), file_format="csv"
        )
        with pytest.raises(SourceAccessError, match=r"source RawMissing: .*HTTP 404.*--local-dir"):
            load_source(missing, cache_dir=tmp_path / "cache")
    finally:
        server.shutdown()
        server.server_close()
