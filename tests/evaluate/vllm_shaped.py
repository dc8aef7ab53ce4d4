"""A small OpenAI-compatible test server shaped like vLLM's where `star1 eval` depends on it.

As vLLM does (checked against vllm/entrypoints/openai/models/serving.py and renderers/params.py of the installed
vLLM): `/v1/models` lists each served model with its `max_model_len`; a request for another model gets 404
"The model `x` does not exist."; a request whose prompt + `max_tokens` exceeds the context gets 400
"This model's maximum context length is N tokens. …". Counts chat requests per model.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class VllmShapedServer:
    """Serve `models` ({name: max_model_len}) on 127.0.0.1; `responder(body) -> text` writes the answers."""

    def __init__(
        self,
        models: dict[str, int],
        responder: Callable[[dict], str],
        port: int = 0,
        fail: Callable[[dict], tuple[int, str] | tuple[int, str, dict[str, str]] | None] | None = None,
    ):
        """`fail(body)` may return (status, message) or (status, message, headers) to answer a request with that
        error instead (e.g. a 503 with the `Retry-After` an overloaded server sends)."""
        self.models, self.responder, self.fail = models, responder, fail
        self.chat_requests: Counter[str] = Counter()
        self.port = port
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> VllmShapedServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    cards = [{"id": m, "object": "model", "owned_by": "vllm", "max_model_len": n}
                             for m, n in owner.models.items()]  # fmt: skip
                    return self._send(200, {"object": "list", "data": cards})
                return self._send(404, {"object": "error", "message": "Not Found", "code": 404})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                model = body.get("model")
                if model not in owner.models:
                    return self._send(
                        404,
                        {"object": "error", "message": f"The model `{model}` does not exist.",
                         "type": "NotFoundError", "param": "model", "code": 404},
                    )  # fmt: skip
                owner.chat_requests[model] += 1
                failure = owner.fail(body) if owner.fail else None
                if failure:
                    status, message, *headers = failure
                    return self._send(status, {"object": "error", "message": message, "code": status}, *headers)
                prompt_tokens = sum(len(str(m.get("content", ""))) for m in body["messages"]) // 4 + 8
                wanted = prompt_tokens + int(body.get("max_tokens") or 16)
                if wanted > owner.models[model]:
                    message = (
                        f"This model's maximum context length is {owner.models[model]} tokens. However, you "
                        f"requested {wanted} tokens ({prompt_tokens} in the messages, {body.get('max_tokens')} in "
                        "the completion). Please reduce the length of the messages or completion."
                    )
                    return self._send(400, {"object": "error", "message": message, "type": "BadRequestError",
                                            "code": 400})  # fmt: skip
                text = owner.responder(body)
                return self._send(
                    200,
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": 0,
                        "model": model,
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                        ],  # fmt: skip
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": len(text) // 4 + 1,
                            "total_tokens": prompt_tokens + len(text) // 4 + 1,
                        },  # fmt: skip
                    },
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        # shutdown() waits for serve_forever's next poll: 0.05 s instead of the default 0.5 s per server stopped
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
