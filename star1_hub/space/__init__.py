"""The leaderboard as a Hub Space: a Gradio app over `<org>/star1-leaderboard`.

- `star1_hub.space.app`: the app itself (uploaded verbatim as the Space's `app.py`; also run by `serve`). It imports
  nothing from star1_hub, so this package's `__init__` stays empty: the leaderboard reads the app's helpers without
  pulling in the publishing code (which reads the leaderboard).
- `star1_hub.space.publish`: `space_files(org)` (README.md with the Space front matter, app.py, requirements.txt,
  space_config.json), `push_space(org, space_id)` (one commit to a Gradio `repo_type="space"` repo), `serve(org)`.

    star1 leaderboard space --org ORG [--space ORG/NAME]
    star1 leaderboard serve --org ORG [--port 7860]
"""
