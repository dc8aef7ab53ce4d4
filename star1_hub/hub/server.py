"""python -m star1_hub.hub.server --host 127.0.0.1 --port 8811 --data-dir DIR

The local Hub's HTTP side: the routes the unmodified `huggingface_hub` / `datasets` clients call (with
`HF_HUB_DISABLE_XET=1`), on a stdlib `ThreadingHTTPServer`. Storage lives in `star1_hub.hub.store`, the JSON
documents in `star1_hub.hub.views`. Errors carry the `X-Error-Code` header (`RepoNotFound`, `RevisionNotFound`,
`EntryNotFound`) the client maps to its typed exceptions. Any bearer token is accepted and never logged.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from star1_hub.hub import views
from star1_hub.hub.store import (
    DEFAULT_BRANCH,
    HubError,
    HubStore,
    bad_request,
    entry_not_found,
    repo_not_found,
    validate_path_in_repo,
    validate_repo_id,
    validate_repo_type,
)

logger = logging.getLogger(__name__)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


READY_PREFIX = "STAR1_HUB_READY "
_API_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_WEB_PREFIXES = {"datasets": "dataset", "spaces": "space"}
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 1024 * 1024


def _truthy(values: list[str] | None, default: bool = False) -> bool:
    if not values:
        return default
    return values[-1].strip().lower() in ("1", "true", "yes")


class HubHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one `HubStore`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], store: HubStore):
        super().__init__(address, HubRequestHandler)
        self.store = store

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class HubRequestHandler(BaseHTTPRequestHandler):
    """Routes one request; each method below handles one Hub endpoint."""

    server: HubHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "star1-local-hub/0.1"

    # ------------------------------------------------------------------ plumbing
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        # The request line only; headers (and so tokens) are never logged.
        logger.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    @property
    def store(self) -> HubStore:
        return self.server.store

    @property
    def base_url(self) -> str:
        return f"http://{self.headers.get('Host') or self.server.endpoint.split('://', 1)[1]}"

    def _dispatch(self, method: str) -> None:
        self._body_read = False
        self._responded = False
        self._extra_headers: dict[str, str] = {}
        try:
            split = urlsplit(self.path)
            self.segments = [unquote(s) for s in split.path.split("/")[1:]]
            self.query = parse_qs(split.query, keep_blank_values=True)
            self._route(method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-response
        except HubError as error:
            self._send_error(error)
        except Exception as error:  # a bug must answer 500, not kill the connection silently
            logger.exception("local Hub: unhandled error on %s %s", method, self.path.split("?")[0])
            self._send_error(HubError(500, f"Internal error: {type(error).__name__}: {error}"))

    def _start_response(self, status: int) -> None:
        self._responded = True
        self.send_response(status)

    def _iter_body(self) -> Iterator[bytes]:
        """Yield the request body (Content-Length or chunked), once."""
        self._body_read = True
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size_line = self.rfile.readline(65537).split(b";")[0].strip()
                size = int(size_line or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                remaining = size
                while remaining:
                    chunk = self.rfile.read(min(remaining, _CHUNK))
                    if not chunk:
                        raise bad_request("Truncated chunked request body")
                    remaining -= len(chunk)
                    yield chunk
                self.rfile.readline(65537)
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, _CHUNK))
                if not chunk:
                    raise bad_request("Truncated request body")
                remaining -= len(chunk)
                yield chunk

    def _body(self) -> bytes:
        return b"".join(self._iter_body())

    def _json_body(self) -> dict:
        raw = self._body()
        if not raw.strip():
            return {}
        try:
            payload = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise bad_request(f"Request body is not valid JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise bad_request("Request body must be a JSON object")
        return payload

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        if not self._body_read and self.command in ("POST", "PUT", "DELETE"):
            try:
                for _ in self._iter_body():
                    pass
            except (HubError, ValueError, OSError):
                self.close_connection = True
        self._start_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in {**self._extra_headers, **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, payload: object, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)

    def _send_error(self, error: HubError) -> None:
        if self._responded:  # headers already went out: the only safe signal left is closing the connection
            self.close_connection = True
            return
        one_line = " ".join(error.message.split())  # header values cannot hold newlines
        headers = {"X-Error-Message": one_line.encode("ascii", "replace").decode()[:500]}
        if error.code:
            headers["X-Error-Code"] = error.code
        try:
            self._send_json({"error": error.message, **error.extra}, error.status, headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ------------------------------------------------------------------ routing
    def _route(self, method: str) -> None:
        segs = self.segments
        if segs[:1] == ["api"]:
            return self._route_api(method, segs[1:])
        if segs[:1] == ["lfs-upload"] and method == "PUT" and len(segs) == 5:
            return self._lfs_upload(segs[1], f"{segs[2]}/{segs[3]}", segs[4])
        # Web side: /{prefix}{ns}/{name}/resolve/{rev}/{path} and /{prefix}{ns}/{name}.git/info/lfs/objects/batch
        repo_type = "model"
        if segs and segs[0] in _WEB_PREFIXES and len(segs) >= 3:
            repo_type, segs = _WEB_PREFIXES[segs[0]], segs[1:]
        if len(segs) >= 5 and segs[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(repo_type, f"{segs[0]}/{segs[1]}", segs[3], "/".join(segs[4:]))
        if len(segs) >= 3 and segs[1] == "resolve":
            raise HubError(
                404, f"Repository {segs[0]!r} not found: local Hub repo ids are 'namespace/name'", "RepoNotFound"
            )
        if len(segs) == 6 and segs[1].endswith(".git") and segs[2:] == ["info", "lfs", "objects", "batch"]:
            if method == "POST":
                return self._lfs_batch(repo_type, f"{segs[0]}/{segs[1][: -len('.git')]}")
        raise HubError(404, f"No route for {method} {'/'.join(self.segments)}")

    def _route_api(self, method: str, segs: list[str]) -> None:
        if segs == ["whoami-v2"] and method == "GET":
            return self._whoami()
        if segs == ["repos", "create"] and method == "POST":
            return self._create_repo()
        if segs == ["repos", "delete"] and method == "DELETE":
            return self._delete_repo()
        if segs == ["validate-yaml"] and method == "POST":
            return self._validate_yaml()
        if len(segs) == 1 and segs[0] in _API_TYPES and method == "GET":
            return self._list_repos(_API_TYPES[segs[0]])
        if len(segs) == 2 and segs[0] in _API_TYPES:
            raise HubError(
                404, f"Repository {segs[1]!r} not found: local Hub repo ids are 'namespace/name'", "RepoNotFound"
            )
        if len(segs) < 3 or segs[0] not in _API_TYPES:
            raise HubError(404, f"No API route for {method} /api/{'/'.join(segs)}")
        repo_type, repo_id = _API_TYPES[segs[0]], validate_repo_id(f"{segs[1]}/{segs[2]}")
        action, rest = (segs[3], segs[4:]) if len(segs) > 3 else ("", [])
        handlers = {
            ("GET", ""): lambda: self._repo_info(repo_type, repo_id, DEFAULT_BRANCH),
            ("GET", "revision"): lambda: self._repo_info(repo_type, repo_id, "/".join(rest) or DEFAULT_BRANCH),
            ("GET", "refs"): lambda: self._refs(repo_type, repo_id),
            ("GET", "commits"): lambda: self._commits(repo_type, repo_id, "/".join(rest) or DEFAULT_BRANCH),
            ("GET", "tree"): lambda: self._tree(repo_type, repo_id, rest),
            ("POST", "paths-info"): lambda: self._paths_info(repo_type, repo_id, "/".join(rest) or DEFAULT_BRANCH),
            ("POST", "preupload"): lambda: self._preupload(repo_type, repo_id, "/".join(rest) or DEFAULT_BRANCH),
            ("POST", "commit"): lambda: self._commit(repo_type, repo_id, "/".join(rest) or DEFAULT_BRANCH),
            ("POST", "branch"): lambda: self._create_branch(repo_type, repo_id, "/".join(rest)),
            ("DELETE", "branch"): lambda: self._delete_branch(repo_type, repo_id, "/".join(rest)),
            ("POST", "tag"): lambda: self._create_tag(repo_type, repo_id, "/".join(rest) or DEFAULT_BRANCH),
            ("DELETE", "tag"): lambda: self._delete_tag(repo_type, repo_id, "/".join(rest)),
            ("PUT", "settings"): lambda: self._settings(repo_type, repo_id),
            ("GET", "xet-write-token"): self._no_xet,
            ("GET", "xet-read-token"): self._no_xet,
        }
        handler = handlers.get((method, action))
        if handler is None:
            raise HubError(404, f"No API route for {method} /api/{'/'.join(segs)}")
        return handler()

    def _no_xet(self) -> None:
        raise HubError(501, "The local Hub does not speak Xet: set HF_HUB_DISABLE_XET=1 before importing the client")

    # ------------------------------------------------------------------ account and repos
    def _whoami(self) -> None:
        if not (self.headers.get("Authorization") or "").lower().startswith("bearer "):
            raise HubError(401, "Invalid username or password: send any token as 'Authorization: Bearer <token>'")
        self._send_json(views.whoami())

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        return f"{self.base_url}/{views.repo_url_prefix(repo_type)}{repo_id}"

    def _create_repo(self) -> None:
        body = self._json_body()
        repo_type = validate_repo_type(body.get("type") or "model")
        name, org = body.get("name"), body.get("organization")
        if not isinstance(name, str) or not name:
            raise bad_request("create repo: 'name' is required")
        repo_id = validate_repo_id(f"{org or views.LOCAL_USER}/{name}")
        private = body.get("visibility") == "private" or bool(body.get("private"))
        url = self._repo_url(repo_type, repo_id)
        if not self.store.create_repo(repo_type, repo_id, private, views.LOCAL_USER):
            raise HubError(409, f"You already created this {repo_type} repo: {repo_id}", extra={"url": url})
        logger.info("local Hub: created %s %s", repo_type, repo_id)
        self._send_json({"url": url, "name": repo_id, "id": repo_id})

    def _delete_repo(self) -> None:
        body = self._json_body()
        repo_type = validate_repo_type(body.get("type") or "model")
        name, org = body.get("name"), body.get("organization")
        repo_id = validate_repo_id(f"{org or views.LOCAL_USER}/{name}")
        self.store.delete_repo(repo_type, repo_id)
        logger.info("local Hub: deleted %s %s", repo_type, repo_id)
        self._send_json({})

    def _settings(self, repo_type: str, repo_id: str) -> None:
        body = self._json_body()
        private = body.get("private")
        if body.get("visibility") is not None:
            private = body["visibility"] == "private"
        self.store.update_settings(repo_type, repo_id, private)
        self._send_json({})

    def _list_repos(self, repo_type: str) -> None:
        author = (self.query.get("author") or [None])[-1]
        search = (self.query.get("search") or [None])[-1]
        out = []
        for repo_id in self.store.list_repos(repo_type):
            if (author and repo_id.split("/")[0] != author) or (search and search.lower() not in repo_id.lower()):
                continue
            meta = self.store.repo_meta(repo_type, repo_id)
            out.append({"id": repo_id, "private": meta["private"], "lastModified": meta["lastModified"]})
        self._send_json(out)

    def _validate_yaml(self) -> None:
        body = self._json_body()
        content = body.get("content")
        if not isinstance(content, str):
            raise bad_request("validate-yaml: 'content' must be a string")
        problem = views.validate_front_matter(content)
        if problem:
            raise bad_request(problem)
        self._send_json({"errors": [], "warnings": []})

    def _repo_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        sha = self.store.resolve(repo_type, repo_id, revision)
        self._send_json(views.repo_info(self.store, repo_type, repo_id, sha))

    # ------------------------------------------------------------------ refs and history
    def _refs(self, repo_type: str, repo_id: str) -> None:
        self._send_json(views.refs(self.store, repo_type, repo_id, _truthy(self.query.get("include_prs"))))

    def _commits(self, repo_type: str, repo_id: str, revision: str) -> None:
        sha = self.store.resolve(repo_type, repo_id, revision)
        formatted = "formatted" in (self.query.get("expand[]") or []) + (self.query.get("expand") or [])
        history = self.store.history(repo_type, repo_id, sha)
        self._send_json([views.commit_doc(commit, formatted) for commit in history])

    def _create_branch(self, repo_type: str, repo_id: str, branch: str) -> None:
        body = self._json_body()
        self.store.create_branch(repo_type, repo_id, branch, body.get("startingPoint"))
        self._send_json({})

    def _delete_branch(self, repo_type: str, repo_id: str, branch: str) -> None:
        self.store.delete_branch(repo_type, repo_id, branch)
        self._send_json({})

    def _create_tag(self, repo_type: str, repo_id: str, revision: str) -> None:
        body = self._json_body()
        tag = body.get("tag")
        if not isinstance(tag, str):
            raise bad_request("create tag: 'tag' is required")
        self.store.create_tag(repo_type, repo_id, tag, revision, body.get("message"))
        self._send_json({})

    def _delete_tag(self, repo_type: str, repo_id: str, tag: str) -> None:
        self.store.delete_tag(repo_type, repo_id, tag)
        self._send_json({})

    # ------------------------------------------------------------------ trees and files
    def _tree(self, repo_type: str, repo_id: str, rest: list[str]) -> None:
        if not rest:
            raise bad_request("tree: a revision is required")
        revision, folder = rest[0], "/".join(rest[1:]).strip("/")
        if folder:
            validate_path_in_repo(folder)
        sha = self.store.resolve(repo_type, repo_id, revision)
        tree = self.store.get_commit(repo_type, repo_id, sha)["tree"]
        entries = views.list_tree(tree, folder, _truthy(self.query.get("recursive")))
        if _truthy(self.query.get("expand")):
            commits = views.last_commits(self.store, repo_type, repo_id, sha, [e["path"] for e in entries])
            for entry in entries:
                entry["lastCommit"] = commits[entry["path"]]
        self._send_json(entries)

    def _paths_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        content_type = self.headers.get("Content-Type") or ""
        raw = self._body().decode("utf-8", errors="replace")
        if "json" in content_type:
            payload = json.loads(raw or "{}")
            paths, expand = payload.get("paths") or [], bool(payload.get("expand"))
        else:
            form = parse_qs(raw, keep_blank_values=True)
            paths, expand = form.get("paths") or [], _truthy(form.get("expand"))
        sha = self.store.resolve(repo_type, repo_id, revision)
        tree = self.store.get_commit(repo_type, repo_id, sha)["tree"]
        entries = []
        for path in paths:
            path = path.strip("/")
            if path:
                validate_path_in_repo(path)
            entry = views.tree_entry(tree, path) if path else None
            if entry is not None:
                entries.append(entry)
        if expand and entries:
            commits = views.last_commits(self.store, repo_type, repo_id, sha, [e["path"] for e in entries])
            for entry in entries:
                entry["lastCommit"] = commits[entry["path"]]
        self._send_json(entries)

    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str) -> None:
        validate_repo_id(repo_id)
        validate_path_in_repo(path)
        if not self.store.exists(repo_type, repo_id):
            raise repo_not_found(repo_type, repo_id)
        sha = self.store.resolve(repo_type, repo_id, revision)
        entry = self.store.get_commit(repo_type, repo_id, sha)["tree"].get(path)
        self._extra_headers["X-Repo-Commit"] = sha
        if entry is None:
            raise entry_not_found(path, f"{path!r} does not exist at revision {revision!r}")
        size = entry["size"]
        headers = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes"}
        if entry["lfs"]:
            headers |= {"ETag": f'"{entry["sha256"]}"', "X-Linked-Etag": f'"{entry["sha256"]}"'}
            headers["X-Linked-Size"] = str(size)
        else:
            headers["ETag"] = f'"{entry["oid"]}"'
        start, end = 0, size - 1
        status = 200
        range_header = self.headers.get("Range")
        if range_header and size > 0:
            match = _RANGE_RE.match(range_header.strip())
            if match and (match.group(1) or match.group(2)):
                if match.group(1):
                    start = int(match.group(1))
                    end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
                else:
                    start = max(size - int(match.group(2)), 0)
                if start >= size or start > end:
                    self._send(416, b"", "text/plain", {**headers, "Content-Range": f"bytes */{size}"})
                    return
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(end - start + 1, 0)
        self._start_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command == "HEAD" or length == 0:
            return
        with self.store.blobs.open(entry["sha256"]) as handle:
            handle.seek(start)
            remaining = length
            while remaining:
                chunk = handle.read(min(remaining, _CHUNK))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)

    # ------------------------------------------------------------------ uploads and commits
    def _preupload(self, repo_type: str, repo_id: str, revision: str) -> None:
        body = self._json_body()
        files = body.get("files")
        if not isinstance(files, list):
            raise bad_request("preupload: 'files' must be a list")
        try:
            sha = self.store.resolve(repo_type, repo_id, revision)
        except HubError:
            if not self.store.exists(repo_type, repo_id):
                raise
            sha = None  # a PR or a branch about to be created: nothing to compare with
        tree = self.store.get_commit(repo_type, repo_id, sha)["tree"] if sha else {}
        out = []
        for item in files:
            path = validate_path_in_repo(str(item.get("path", "")))
            try:
                sample = base64.b64decode(item.get("sample") or "")
            except (binascii.Error, ValueError):
                raise bad_request(f"preupload: 'sample' of {path!r} is not base64") from None
            mode = views.upload_mode(path, int(item.get("size") or 0), sample)
            remote = tree.get(path)
            oid = None
            if remote is not None:
                oid = remote["sha256"] if remote["lfs"] else remote["oid"]
            out.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        self._send_json({"files": out, "commitOid": sha})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        validate_repo_id(repo_id)
        body = self._json_body()
        if not self.store.exists(repo_type, repo_id):
            raise repo_not_found(repo_type, repo_id)
        operation = body.get("operation")
        objects = body.get("objects")
        if operation != "upload" or not isinstance(objects, list):
            raise bad_request("LFS batch: only 'operation': 'upload' with a list of 'objects' is supported")
        out = []
        for obj in objects:
            oid, size = obj.get("oid"), obj.get("size")
            if not isinstance(oid, str) or not re.fullmatch(r"[0-9a-f]{64}", oid) or not isinstance(size, int):
                raise bad_request(f"LFS batch: invalid object {obj!r} (need a sha256 hex 'oid' and an int 'size')")
            item: dict = {"oid": oid, "size": size, "authenticated": True}
            if not self.store.blobs.has(oid):  # no "actions" tells the client the object is already there
                href = f"{self.base_url}/lfs-upload/{repo_type}/{repo_id}/{oid}?size={size}"
                item["actions"] = {"upload": {"href": href, "header": {}}}
            out.append(item)
        self._send(
            200,
            json.dumps({"transfer": "basic", "objects": out, "hash_algo": "sha256"}).encode(),
            "application/vnd.git-lfs+json",
        )

    def _lfs_upload(self, repo_type: str, repo_id: str, oid: str) -> None:
        validate_repo_type(repo_type)
        validate_repo_id(repo_id)
        if not self.store.exists(repo_type, repo_id):
            raise repo_not_found(repo_type, repo_id)
        size_values = self.query.get("size")
        expected = int(size_values[-1]) if size_values and size_values[-1].isdigit() else None
        self.store.blobs.put_stream(self._iter_body(), oid, expected)
        self._send_json({})

    def _commit(self, repo_type: str, repo_id: str, revision: str) -> None:
        header: dict = {}
        operations: list[tuple[str, str, dict | None]] = []
        for number, line in enumerate(self._body().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                key, value = item["key"], item["value"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise bad_request(f"commit: line {number} is not a {{'key', 'value'}} JSON object") from None
            if key == "header":
                header = value
                continue
            path = validate_path_in_repo(
                str(value.get("path", "")).rstrip("/") if key == "deletedFolder" else str(value.get("path", ""))
            )
            if key == "file":
                if value.get("encoding", "base64") != "base64":
                    raise bad_request(f"commit: file {path!r} must be base64-encoded")
                operations.append(("add", path, self.store.make_regular_entry(value.get("content", ""), path)))
            elif key == "lfsFile":
                if value.get("algo", "sha256") != "sha256":
                    raise bad_request(f"commit: LFS file {path!r} must use algo sha256")
                operations.append(("add", path, self.store.make_lfs_entry(value.get("oid"), value.get("size"), path)))
            elif key == "deletedFile":
                operations.append(("delete_file", path, None))
            elif key == "deletedFolder":
                operations.append(("delete_folder", path, None))
            else:
                raise bad_request(f"commit: unsupported operation {key!r} on line {number}")
        if not self.store.exists(repo_type, repo_id):
            raise repo_not_found(repo_type, repo_id)
        create_pr = _truthy(self.query.get("create_pr"))
        sha, pr_num = self.store.commit(
            repo_type,
            repo_id,
            revision,
            operations,
            title=str(header.get("summary") or "Update files"),
            message=str(header.get("description") or ""),
            author=views.LOCAL_USER,
            parent_commit=header.get("parentCommit"),
            create_pr=create_pr,
        )
        repo_url = self._repo_url(repo_type, repo_id)
        logger.info("local Hub: commit %s on %s %s@%s", sha[:8], repo_type, repo_id, revision)
        self._send_json(
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{repo_url}/commit/{sha}",
                "pullRequestUrl": f"{repo_url}/discussions/{pr_num}" if pr_num else None,
            }
        )


def make_server(data_dir: Path | str, host: str = "127.0.0.1", port: int = 0) -> HubHTTPServer:
    """Create (not start) a local Hub server over `data_dir`; `port=0` picks a free port."""
    return HubHTTPServer((host, port), HubStore(data_dir))


def _watch_parent(parent_pid: int, server: HubHTTPServer) -> None:
    """Stop serving when the process that started us is gone (no orphan servers after a killed test run)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:  # re-parented: our parent exited, however it died
            logger.info("local Hub: parent process %d exited, stopping", parent_pid)
            server.shutdown()
            return


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted; print `STAR1_HUB_READY <endpoint>` on stdout once listening."""
    parser = argparse.ArgumentParser(description="Local Hugging Face Hub-protocol server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8811)
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process exits")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--remove-data-dir-on-exit", action="store_true", help="for temporary test/demo hubs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    server = make_server(args.data_dir, args.host, args.port)
    if args.parent_pid:
        threading.Thread(target=_watch_parent, args=(args.parent_pid, server), daemon=True).start()
    sys.stdout.write(f"{READY_PREFIX}{server.endpoint}\n")
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # `kill` stops as cleanly as Ctrl-C
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if args.remove_data_dir_on_exit:
            shutil.rmtree(args.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
