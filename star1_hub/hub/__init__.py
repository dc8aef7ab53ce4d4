"""A local Hugging Face Hub: a Hub-protocol HTTP server that the unmodified `huggingface_hub` and `datasets`
clients drive offline (`HF_ENDPOINT=http://127.0.0.1:PORT HF_HUB_DISABLE_XET=1`).

- `star1_hub.hub.store`: on-disk repos (content-addressed blobs, immutable commits, refs, `gc`); `trees`:
  incremental folder trees; `durable`: fsynced atomic writes; `names`: which ids and paths are accepted.
- `star1_hub.hub.server`: the HTTP protocol (`python -m star1_hub.hub.server --port 8811 --data-dir DIR`);
  `uploads`: preupload, LFS and commits; `handler_base`: HTTP plumbing; `auth`: tokens, roles, private repos;
  `limits`: body, file, time and connection limits.
- `star1_hub.hub.testing`: start a server for tests, demos and benches, and export the client environment.
- `star1_hub.hub.cli`: `star1 hub serve`, `star1 hub gc`.
- `star1_hub.hub.card_push`: `push_card(...)`, use it instead of `ModelCard.push_to_hub` (huggingface_hub 1.33
  validates cards against the hard-coded huggingface.co, whatever `HF_ENDPOINT` says).
- `star1_hub.hub.commit`: the one write path of every publisher: `commit_to_hub(...)` (one commit of files + card
  + optional tag, `parent_commit` compare-and-swap, rebuilt and retried on 412/409), `tag_revision`, and
  `parse_ref("org/name@rev")`.

Apart from `card_push` and `commit` (client-side helpers, importing it lazily), nothing here imports `huggingface_hub` or `datasets`: the server
must be importable (and started) before the clients read their environment at import time.
"""
