"""The Hub client's write path: every publisher commits through here (the local Hub server is
`star1_hub.hubserver`; nothing here imports it).

- `star1_hub.hub.commit`: the one write path of every publisher: `commit_to_hub(...)` (one commit of files + card
  + optional tag, `parent_commit` compare-and-swap, rebuilt and retried on 412/409), `tag_revision`, and
  `parse_ref("org/name@rev")`.
- `star1_hub.hub.card_validation`: `validate_card(...)` against the configured Hub (huggingface_hub 1.33
  validates cards against the hard-coded huggingface.co, whatever `HF_ENDPOINT` says).
- `star1_hub.hub.card_push`: `push_card(...)`, use it instead of `ModelCard.push_to_hub`.

`huggingface_hub` is imported inside the functions, so importing this package stays cheap.
"""
