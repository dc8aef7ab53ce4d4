"""JSON documents the Hub API returns (repo info, tree entries, refs, commits), built from a `HubStore`.

Field names follow what the `huggingface_hub` dataclasses read (`RepoFile`, `RepoFolder`, `ModelInfo`,
`DatasetInfo`, `GitRefs`, `GitCommitInfo`), see `.venv/.../huggingface_hub/hf_api.py`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import PurePosixPath

from star1_hub.errors import Star1Error
from star1_hub.hubserver.store import HubStore, entry_not_found, lfs_pointer
from star1_hub.hubserver.trees import TreeStore, is_folder

logger = logging.getLogger(__name__)

LFS_SIZE_THRESHOLD = 10 * 1024 * 1024  # the Hub's default; `Limits.max_inline_file_bytes` sets the server's
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


def upload_mode(path: str, size: int, sample: bytes, threshold: int = LFS_SIZE_THRESHOLD) -> str:
    """`"lfs"` for big (>= threshold, 10 MiB), binary-suffixed or NUL-containing files, else `"regular"`."""
    if size >= threshold or PurePosixPath(path).suffix.lower() in LFS_SUFFIXES or b"\0" in sample:
        return "lfs"
    return "regular"


MAX_FRONT_MATTER_CHARS = 256 * 1024
MAX_YAML_DEPTH = 64  # nesting of mappings/sequences in a card's metadata; real cards use 3 or 4


class UnsafeYamlError(Star1Error, ValueError):
    """Card YAML that could blow up when expanded (anchors/aliases) or is too big to parse."""


ALIASES_REFUSED = "YAML anchors and aliases (&name, *name) are not allowed in the README.md metadata block"


def _safe_loader():
    """PyYAML's safe loader, on libyaml (C) when PyYAML was built with it: cards are parsed on every commit and
    validate-yaml call, and the pure-Python scanner is most of the server's CPU there."""
    import yaml  # only needed for card metadata; keeps `import star1_hub.hubserver.server` light

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _invalid_yaml(exc: Exception) -> ValueError:
    """The one-line error for a metadata block that does not parse (the parser's message, whitespace collapsed)."""
    return ValueError(f"Invalid YAML in the README.md metadata block: {' '.join(str(exc).split())[:300]}")


def _check_card_yaml(block: str) -> None:
    """Refuse what could blow up before anything is built: anchors/aliases and nesting deeper than
    `MAX_YAML_DEPTH`, read from the parser's event stream (no node is composed, no alias expanded)."""
    import yaml

    if len(block) > MAX_FRONT_MATTER_CHARS:
        raise UnsafeYamlError(f"the README.md metadata block is over {MAX_FRONT_MATTER_CHARS} characters")
    too_deep = f"the README.md metadata block is nested more than {MAX_YAML_DEPTH} levels deep"
    depth = 0  # open mappings/sequences around the next node
    try:
        for event in yaml.parse(block, Loader=_safe_loader()):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise UnsafeYamlError(ALIASES_REFUSED)
            if isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.NodeEvent) and depth + 1 > MAX_YAML_DEPTH:  # a node at level depth + 1
                raise UnsafeYamlError(too_deep)
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own limit, met while its scanner reads ahead
            raise UnsafeYamlError(too_deep) from None
        raise _invalid_yaml(exc) from None


def _load_card_yaml(block: str) -> object:
    """Parse a README metadata block with a safe loader, after refusing YAML anchors/aliases (before expanding)
    and nesting deeper than `MAX_YAML_DEPTH` (`_check_card_yaml`).

    Aliases let a few hundred bytes expand into gigabytes (each level multiplies); no card needs them. Deep nesting
    would make the composer recurse once per level. Raises `ValueError` with a short reason.
    """
    import yaml

    _check_card_yaml(block)
    try:
        return yaml.load(block, Loader=_safe_loader())  # noqa: S506 - a safe loader
    except RecursionError:
        raise UnsafeYamlError("the README.md metadata block is nested too deeply") from None
    except yaml.YAMLError as exc:
        raise _invalid_yaml(exc) from None


def _front_matter_block(text: str) -> str | None:
    """The text between the leading `---` lines; None when there is no block; ValueError when never closed."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "\n".join(lines[1:index])
    raise ValueError("The README.md metadata block opened with '---' is never closed")


def parse_front_matter(text: str) -> dict | None:
    """The YAML block between the leading `---` lines of a README, or None when absent, invalid or unsafe."""
    try:
        block = _front_matter_block(text)
        data = _load_card_yaml(block) if block is not None else None
    except ValueError as exc:
        logger.debug("README front matter ignored: %s", exc)
        return None
    return data if isinstance(data, dict) else None


def validate_front_matter(text: str) -> str | None:
    """Return an error message if the README front matter is invalid, unsafe or not a mapping, else None."""
    try:
        block = _front_matter_block(text)
        if block is None:
            return None
        data = _load_card_yaml(block)
    except ValueError as exc:
        return str(exc)
    if data is not None and not isinstance(data, dict):
        return "The README.md metadata block must be a YAML mapping (key: value)"
    return None


def front_matter_hazard(readme: bytes) -> str | None:
    """Why a README's metadata block must be refused before anyone parses it fully (aliases, size), or None."""
    try:
        block = _front_matter_block(readme[: MAX_FRONT_MATTER_CHARS * 4 + 16].decode("utf-8", errors="replace"))
        if block is not None:
            _check_card_yaml(block)  # the hazards only: nothing needs the parsed card here
    except UnsafeYamlError as exc:
        return str(exc)
    except ValueError:
        return None  # malformed but harmless: the card just has no metadata (validate-yaml reports it)
    return None


def card_data(store: HubStore, repo_type: str, repo_id: str, commit: dict) -> dict | None:
    """Parsed README.md front matter of a commit (cached by content: blobs are immutable)."""
    entry = store.trees(repo_type, repo_id).lookup(commit["tree"], "README.md")
    if entry is None or "sha256" not in entry:
        return None
    with _CARD_CACHE_LOCK:
        if entry["sha256"] in _CARD_CACHE:
            return _CARD_CACHE[entry["sha256"]]
    try:
        with store.blobs.open(entry["sha256"]) as handle:
            raw = handle.read(MAX_FRONT_MATTER_CHARS * 4 + 16)  # the block is capped: no need for the rest
    except FileNotFoundError:
        return None
    data = parse_front_matter(raw.decode("utf-8", errors="replace"))
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
    tree = store.commit_files(repo_type, repo_id, sha)
    card = card_data(store, repo_type, repo_id, commit)
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
    if repo_type == "space":
        info["sdk"] = meta.get("sdk") or (card.get("sdk") if card else None)
        info["subdomain"] = repo_id.replace("/", "-").replace("_", "-").replace(".", "-").lower()
        info["runtime"] = {"stage": "NO_APP_FILE" if "app.py" not in tree else "STOPPED", "hardware": None}
    if repo_type == "model":
        info["modelId"] = repo_id
        info["library_name"] = card.get("library_name") if card else None
        info["pipeline_tag"] = card.get("pipeline_tag") if card else None
    return info


class _PathTrie:
    """The paths still looked for, as a tree of names; `open` counts the paths still looked for below a node."""

    __slots__ = ("children", "path", "open")

    def __init__(self) -> None:
        self.children: dict[str, _PathTrie] = {}
        self.path: str | None = None  # set when a requested path ends here
        self.open = 0

    def add(self, path: str) -> None:
        node = self
        node.open += 1
        for name in path.split("/"):
            node = node.children.setdefault(name, _PathTrie())
            node.open += 1
        node.path = path

    def close(self, path: str) -> None:
        node = self
        node.open -= 1
        for name in path.split("/"):
            node = node.children[name]
            node.open -= 1
        node.path = None


def _changed_paths(trees: TreeStore, newer: str, older: str, node: _PathTrie, out: list[str]) -> None:
    """Append to `out` the open paths of `node` whose entry differs between folder objects `newer` and `older`.

    Only folders that differ between the two trees (and hold an open path) are opened: the cost follows the
    change of one commit, not the size of the tree.
    """
    if newer == older or node.open == 0:
        return
    new_entries, old_entries = trees.load(newer), trees.load(older)
    for name, child in node.children.items():
        if child.open == 0:
            continue
        new, old = new_entries.get(name), old_entries.get(name)
        if new == old:
            continue
        if child.path is not None:
            out.append(child.path)
        if child.children:
            new_tree = new.get("tree") if new else None
            old_tree = old.get("tree") if old else None
            if new_tree and old_tree:
                _changed_paths(trees, new_tree, old_tree, child, out)
            elif new_tree or old_tree:  # a folder appeared, vanished or became a file: all open paths below changed
                stack = [child]
                while stack:
                    current = stack.pop()
                    for grandchild in current.children.values():
                        if grandchild.open:
                            if grandchild.path is not None:
                                out.append(grandchild.path)
                            stack.append(grandchild)


def last_commits(store: HubStore, repo_type: str, repo_id: str, sha: str, paths: list[str]) -> dict[str, dict]:
    """For each path, the oldest commit of the unbroken run (from `sha` back) in which it is unchanged.

    History is walked once for all paths, comparing each commit with its child only inside the folders that
    changed and hold a path still looked for.
    """
    trees = store.trees(repo_type, repo_id)
    wanted = _PathTrie()
    for path in dict.fromkeys(paths):
        wanted.add(path)
    result: dict[str, dict] = {}
    newer = store.get_commit(repo_type, repo_id, sha)
    last = {"id": newer["id"], "title": newer["title"], "date": newer["date"]}
    while wanted.open and newer["parents"]:
        older = store.get_commit(repo_type, repo_id, newer["parents"][0])
        changed: list[str] = []
        _changed_paths(trees, newer["tree"], older["tree"], wanted, changed)
        for path in changed:
            result[path] = last
            wanted.close(path)
        newer = older
        last = {"id": newer["id"], "title": newer["title"], "date": newer["date"]}
    for path in paths:
        result.setdefault(path, last)
    return result


def _entry_doc(path: str, entry: dict) -> dict:
    if is_folder(entry):
        return {"type": "directory", "oid": entry["tree"], "size": 0, "path": path}
    doc = {"type": "file", "oid": entry["oid"], "size": entry["size"], "path": path}
    if entry["lfs"]:
        doc["lfs"] = lfs_info(entry, "oid")
    return doc


def tree_entry(trees: TreeStore, root_id: str, path: str) -> dict | None:
    """A `RepoFile`/`RepoFolder` document for `path`, or None if it is neither a file nor a folder."""
    entry = trees.lookup(root_id, path)
    return None if entry is None else _entry_doc(path, entry)


def list_tree(trees: TreeStore, root_id: str, folder: str, recursive: bool) -> list[dict]:
    """Entries under `folder` ("" = root): direct children, or every file and folder when recursive.

    Raises an EntryNotFound HubError when `folder` is not a folder of the tree.
    """
    folder = folder.strip("/")
    node = trees.lookup(root_id, folder)
    if node is None or not is_folder(node):
        raise entry_not_found(folder, f"{folder!r} is not a folder of this revision")
    prefix = f"{folder}/" if folder else ""
    if recursive:
        pairs = list(trees.walk(node["tree"], prefix))
    else:
        pairs = [(prefix + name, entry) for name, entry in trees.load(node["tree"]).items()]
    # Folders first then files, each sorted, like the Hub.
    entries = [_entry_doc(path, entry) for path, entry in pairs]
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
