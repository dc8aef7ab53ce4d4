"""Test doubles the suite, the benches and the README examples run against (never imported by the package itself).

- `star1_hub.testing.scripted_server`: a scripted, fault-injecting OpenAI-compatible server
  (`python -m star1_hub.testing.scripted_server --port 8900`).

The local Hub (`star1_hub.hubserver`) is not a double: it is a product (`star1 hub serve`), tests start it
through `star1_hub.hubserver.testing`.
"""
