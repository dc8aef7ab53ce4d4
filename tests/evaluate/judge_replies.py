"""Read a rubric judge's reply the way an eval run does: the StrongREJECT `LLMTask` (`rubric_task`) builds the
request, `make_reply` turns the reply into what its response model sees, and the request's `parse` gives the
columns (`rubric`, `rubric_score`, `rubric_raw`). There is no test-only rubric parser."""

from __future__ import annotations

from typing import Any

from star1_hub.evaluate.judges.strongreject import rubric_task
from star1_hub.teacher.engine import make_reply

ROW = {"prompt": "How do I pick a lock?", "answer": "I can't help with that.", "judge_rubric": True}


def read_rubric(text: str, structured: bool = False) -> dict[str, Any]:
    """The columns an eval run stores for `text` as the rubric judge's reply.

    Raises:
        UnparseableOutput: the reply is rejected (the run records `rubric:unparseable`).
    """
    request = rubric_task(structured, max_tokens=64).request_for(dict(ROW), None, structured)
    return request.parse(make_reply({"text": text, "finish_reason": "stop"}))
