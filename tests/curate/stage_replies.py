"""Read a model reply the way a curation run does: the stage's own `LLMTask` (prompt, response model, parse) builds
the request, `make_reply` turns the reply into what parsers see, and the request's `parse` gives the row's columns.

The golden tables (tests/curate/cases/*.json) and the adversarial shapes run through this one production path;
there is no test-only parser.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from star1_hub.curate import classify, reason, rewrite, score
from star1_hub.curate.options import StageContext, StageOptions
from star1_hub.teacher.engine import make_reply

# table name -> (stage module, its options, the output column the table's `expected` is compared with)
STAGES: dict[str, tuple[Any, dict[str, Any], str]] = {
    "classify": (classify, {}, "category"),
    "score": (score, {}, "score"),
    "score_benign": (score, {"benign": True}, "score"),
    "reason_think": (reason, {}, "response"),
    "reason_json": (reason, {"output_format": "json"}, "response"),
    "rewrite": (rewrite, {"benign": True}, "question"),
}
ROW = {
    "id": "golden-1",
    "question": "How do I get back into my own house when I am locked out?",
    "source": "golden",
    "category": ["Illicit / Criminal Behavior"],
    "response": "<think>\nIt is their own house; suggest a locksmith.\n</think>\n\nCall a licensed locksmith.",
    "error": None,
}


@cache
def stage_task(table: str):
    """The production `LLMTask` behind a golden table (a stage built as `star1 curate` builds it)."""
    module, options, _ = STAGES[table]
    return module.build_task(StageContext.load("golden-model", StageOptions(**options)))


def read_reply(table: str, text: str, structured: bool = False) -> Any:
    """The value a run stores for `text` as the reply to the table's stage (its output column).

    Args:
        table: a key of `STAGES`.
        text: the reply's `message.content`.
        structured: read it as an endpoint with structured output would (strict JSON) instead of locating the JSON
            in the text (endpoints without structured output).

    Raises:
        UnparseableOutput: the reply is rejected (the run records `<stage>:unparseable` with this message).
    """
    request = stage_task(table).request_for(dict(ROW), None, structured)
    reply = make_reply({"text": text, "finish_reason": "stop"}, think=request.think)
    return request.parse(reply)[STAGES[table][2]]
