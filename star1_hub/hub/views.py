"""JSON documents the Hub API returns (repo info, tree entries, refs, commits), built from a `HubStore`.

Field names follow what the `huggingface_hub` dataclasses read (`RepoFile`, `RepoFolder`, `ModelInfo`,
`DatasetInfo`, `GitRefs`, `GitCommitInfo`), see `.venv/.../huggingface_hub/hf_api.py`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import PurePosixPath

from star1_hub.hub.store import HubStore, entry_not_found, lfs_pointer

logger = logging.getLogger(__name__)

LOCAL_USER = "star1-local"
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
# Suffixes the Hub's default .gitattributes routes through LFS whatever their size.
LFS_SUFFIXES = frozenset(
    ".7z .arrow .bin .bz2 .ckpt .ftz .gguf .gz .h5 .joblib .mlmodel .model .msgpack .npy .npz .onnx .ot .parquet"
    " .pb .pickle .pkl .pt .pth .rar .safetensors .tar .tflite .tgz .wasm .xz .zip .zst .png .jpg .jpeg .gif .webp"
    " .wav .mp3 .flac .mp4 .pdf".split()
)

_CARD_CACHE: dict[str, dict | None] = {}
_CARD_CACHE_LOCK = threading.Lock()


def repo_url_prefix(repo_type: str) -> str:
    """URL prefix of a repo type on the web side (`""`, `"datasets/"`, `"spaces/"`)."""
    return "" if repo_type == "model" else f"{repo_type}s/"


def upload_mode(path: str, size: int, sample: bytes) -> str:
    """`"lfs"` for big (>= 10 MiB), binary-suffixed or NUL-containing files, else `"regular"`."""
    if size >= LFS_SIZE_THRESHOLD or PurePosixPath(path).suffix.lower() in LFS_SUFFIXES or b"\0" in sample:
        return "lfs"
    return "regular"


def parse_front_matter(text: str) -> dict | None:
    """The YAML block between the leading `---` lines of a README, or None when absent or invalid."""
    import yaml  # only needed for card metadata; keeps `import star1_hub.hub.server` light

    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            try:
                data = yaml.safe_load("\n".join(lines[1:index]))
            except yaml.YAMLError as exc:
                logger.debug("README front matter is not valid YAML: %s", exc)
                return None
            return data if isinstance(data, dict) else None
    return None


def validate_front_matter(text: str) -> str | None:
    """Return an error message if the README front matter is not a YAML mapping, else None."""
    import yaml

    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            try:
                data = yaml.safe_load("\n".join(lines[1:index]))
            except yaml.YAMLError as exc:
                return f"Invalid YAML in the README.md metadata block: {exc}"
            if data is not None and not isinstance(data, dict):
                return "The README.md metadata block must be a YAML mapping (key: value)"
            return None
    return "The README.md metadata block opened with '---' is never closed"


def card_data(store: HubStore, commit: dict) -> dict | None:
    """Parsed README.md front matter of a commit (cached: commits are immutable)."""
    entry = commit["tree"].get("README.md")
    if entry is None:
        return None
    with _CARD_CACHE_LOCK:
        if entry["sha256"] in _CARD_CACHE:
            return _CARD_CACHE[entry["sha256"]]
    try:
        text = store.blobs.read(entry["sha256"]).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    data = parse_front_matter(text)
    with _CARD_CACHE_LOCK:
        if len(_CARD_CACHE) >= 1024:
            _CARD_CACHE.clear()
        _CARD_CACHE[entry["sha256"]] = data
    return data


def lfs_info(entry: dict, key: str) -> dict | None:
    """The `lfs` sub-document of a file: `{"oid"|"sha256", "size", "pointerSize"}` (key differs by endpoint)."""
    if not entry["lfs"]:
        return None
    return {
        key: entry["sha256"],
        "size": entry["size"],
        "pointerSize": len(lfs_pointer(entry["sha256"], entry["size"])),
    }


def repo_info(store: HubStore, repo_type: str, repo_id: str, sha: str) -> dict:
    """The `/api/{type}s/{id}[/revision/{rev}]` document."""
    meta = store.repo_meta(repo_type, repo_id)
    commit = store.get_commit(repo_type, repo_id, sha)
    tree = commit["tree"]
    card = card_data(store, commit)
    tags = []
    if card:
        for key in ("tags", "license", "language"):
            value = card.get(key)
            values = value if isinstance(value, list) else [value] if value else []
            tags += [str(v) if key == "tags" else f"{key}:{v}" for v in values]
    info = {
        "_id": hashlib.sha1(f"{repo_type}/{repo_id}".encode()).hexdigest()[:24],
        "id": repo_id,
        "author": repo_id.split("/")[0],
        "sha": sha,
        "lastModified": commit["date"],
        "createdAt": meta["createdAt"],
        "private": meta["private"],
        "gated": False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": tags,
        "cardData": card,
        "siblings": [
            {"rfilename": path, "size": entry["size"], "blobId": entry["oid"], "lfs": lfs_info(entry, "sha256")}
            for path, entry in sorted(tree.items())
        ],
        "usedStorage": sum(entry["size"] for entry in tree.values()),
    }
    if repo_type == "model":
        info["modelId"] = repo_id
        info["library_name"] = card.get("library_name") if card else None
        info["pipeline_tag"] = card.get("pipeline_tag") if card else None
    return info


def _folder_oid(tree: dict, folder: str) -> str:
    prefix = folder + "/"
    listing = sorted((p, e["oid"]) for p, e in tree.items() if p.startswith(prefix))
    return hashlib.sha1(json.dumps(listing).encode()).hexdigest()


def _signature(tree: dict, path: str) -> object:
    if path in tree:
        return tree[path]["oid"]
    prefix = path + "/"
    return tuple(sorted((p, e["oid"]) for p, e in tree.items() if p.startswith(prefix)))


def last_commits(store: HubStore, repo_type: str, repo_id: str, sha: str, paths: list[str]) -> dict[str, dict]:
    """For each path, the oldest commit of the unbroken run (from `sha` back) in which it is unchanged."""
    history = store.history(repo_type, repo_id, sha)
    result = {}
    for path in paths:
        current = _signature(history[0]["tree"], path)
        last = history[0]
        for commit in history[1:]:
            if _signature(commit["tree"], path) != current:
                break
            last = commit
        result[path] = {"id": last["id"], "title": last["title"], "date": last["date"]}
    return result


def tree_entry(tree: dict, path: str) -> dict | None:
    """A `RepoFile`/`RepoFolder` document for `path`, or None if it is neither a file nor a folder."""
    entry = tree.get(path)
    if entry is not None:
        doc = {"type": "file", "oid": entry["oid"], "size": entry["size"], "path": path}
        if entry["lfs"]:
            doc["lfs"] = lfs_info(entry, "oid")
        return doc
    prefix = path + "/"
    if any(p.startswith(prefix) for p in tree):
        return {"type": "directory", "oid": _folder_oid(tree, path), "size": 0, "path": path}
    return None


def list_tree(tree: dict, folder: str, recursive: bool) -> list[dict]:
    """Entries under `folder` ("" = root): direct children, or every file and folder when recursive.

    Raises an EntryNotFound HubError when `folder` is not a folder of the tree.
    """
    prefix = folder.strip("/") + "/" if folder.strip("/") else ""
    names: set[str] = set()
    for path in tree:
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix) :].split("/")
        if recursive:
            for depth in range(1, len(parts) + 1):
                names.add(prefix + "/".join(parts[:depth]))
        else:
            names.add(prefix + parts[0])
    if prefix and not names:
        raise entry_not_found(folder, f"{folder!r} is not a folder of this revision")
    # Folders first then files, each sorted, like the Hub.
    entries = [tree_entry(tree, name) for name in names]
    return sorted(entries, key=lambda e: (e["type"] != "directory", e["path"]))


def refs(store: HubStore, repo_type: str, repo_id: str, include_prs: bool) -> dict:
    meta = store.repo_meta(repo_type, repo_id)
    doc = {
        "branches": [
            {"name": name, "ref": f"refs/heads/{name}", "targetCommit": sha} for name, sha in meta["branches"].items()
        ],
        "tags": [
            {"name": name, "ref": f"refs/tags/{name}", "targetCommit": t["sha"]} for name, t in meta["tags"].items()
        ],
        "converts": [],
    }
    if include_prs:
        doc["pullRequests"] = [
            {"name": f"refs/pr/{num}", "ref": f"refs/pr/{num}", "targetCommit": pull["sha"]}
            for num, pull in sorted(meta["pulls"].items(), key=lambda item: int(item[0]))
        ]
    return doc


def commit_doc(commit: dict, formatted: bool) -> dict:
    doc = {
        "id": commit["id"],
        "title": commit["title"],
        "message": commit["message"],
        "authors": [{"user": commit["author"], "avatar": ""}],
        "date": commit["date"],
    }
    if formatted:
        import html

        doc["formatted"] = {"title": html.escape(commit["title"]), "message": html.escape(commit["message"])}
    return doc


def whoami() -> dict:
    return {
        "type": "user",
        "id": hashlib.sha1(LOCAL_USER.encode()).hexdigest()[:24],
        "name": LOCAL_USER,
        "fullname": "star1 local Hub user",
        "email": None,
        "emailVerified": False,
        "canPay": False,
        "isPro": False,
        "periodEnd": None,
        "avatarUrl": "",
        "orgs": [],
        "auth": {"type": "access_token", "accessToken": {"displayName": "local", "role": "write"}},
    }
