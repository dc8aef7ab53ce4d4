"""A local Hugging Face Hub: a Hub-protocol HTTP server that the unmodified `huggingface_hub` and `datasets`
clients drive offline (`HF_ENDPOINT=http://127.0.0.1:PORT HF_HUB_DISABLE_XET=1`). The write path the project's
publishers use is the client package `star1_hub.hub`; nothing there imports this package, nor this one that.

- `star1_hub.hubserver.store`: on-disk repos (content-addressed blobs, immutable commits, refs, `gc`); `trees`:
  incremental folder trees; `durable`: fsynced atomic writes; `names`: which ids and paths are accepted.
- `star1_hub.hubserver.server`: the HTTP protocol (`python -m star1_hub.hubserver.server --port 8811 --data-dir
  DIR`); `uploads`: preupload, LFS and commits; `handler_base`: HTTP plumbing; `views`: read routes; `auth`:
  tokens, roles, private repos; `limits`: body, file, time and connection limits; `errors`: HTTP errors.
- `star1_hub.hubserver.testing`: start a server for tests, demos and benches, and export the client environment.
- `star1_hub.hubserver.cli`: `star1 hub serve`, `star1 hub gc`.

Nothing here imports `huggingface_hub` or `datasets`: the server must be importable (and started) before the
clients read their environment at import time.
"""
