"""python -m star1_hub.hubserver.server --host 127.0.0.1 --port 8811 --data-dir DIR [--tokens FILE]

The local Hub's HTTP side: the routes the unmodified `huggingface_hub` / `datasets` clients call (with
`HF_HUB_DISABLE_XET=1`), on a stdlib `ThreadingHTTPServer`. This module routes requests and serves repos, refs
and files; uploads and commits are in `star1_hub.hubserver.uploads`, the HTTP plumbing (tokens, limits, bodies) in
`star1_hub.hubserver.handler_base`, storage in `star1_hub.hubserver.store`, the JSON documents in `star1_hub.hubserver.views`.

Errors carry the `X-Error-Code` / `X-Error-Message` headers (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`,
`Invalid credentials in Authorization header`) the client maps to its typed exceptions. Every write and every
read of a private repo checks the bearer token before any request body is read; tokens are never logged.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from star1_hub.hubserver import views
from star1_hub.hubserver.auth import LOCAL_ADMIN_USER, Identity, TokenRegistry, ensure_admin_token, whoami_doc
from star1_hub.hubserver.handler_base import CHUNK, HubHTTPServer, is_loopback, origin_of, truthy
from star1_hub.hubserver.limits import Limits
from star1_hub.hubserver.store import (
    DEFAULT_BRANCH,
    HubError,
    HubStore,
    bad_request,
    entry_not_found,
    validate_path_in_repo,
    validate_repo_id,
    validate_repo_type,
)
from star1_hub.hubserver.uploads import UploadRoutes

logger = logging.getLogger(__name__)

READY_PREFIX = "STAR1_HUB_READY "
SPACE_SDKS = ("gradio", "streamlit", "docker", "static")  # what huggingface_hub's create_repo accepts
_API_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_WEB_PREFIXES = {"datasets": "dataset", "spaces": "space"}
_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class HubRequestHandler(UploadRoutes):
    """Routes one request; each method below handles one Hub endpoint (uploads and commits: `UploadRoutes`)."""

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
        raise HubError(404, f"No route for {method} {'/'.join(self.segments)[:200]}")

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
            raise HubError(404, f"No API route for {method} /api/{'/'.join(segs)[:200]}")
        repo_type, repo_id = _API_TYPES[segs[0]], validate_repo_id(f"{segs[1]}/{segs[2]}")
        action, rest = (segs[3], segs[4:]) if len(segs) > 3 else ("", [])
        rev = "/".join(rest) or DEFAULT_BRANCH
        reads = {
            ("GET", ""): lambda: self._repo_info(repo_type, repo_id, DEFAULT_BRANCH),
            ("GET", "revision"): lambda: self._repo_info(repo_type, repo_id, rev),
            ("GET", "refs"): lambda: self._refs(repo_type, repo_id),
            ("GET", "commits"): lambda: self._commits(repo_type, repo_id, rev),
            ("GET", "tree"): lambda: self._tree(repo_type, repo_id, rest),
            ("POST", "paths-info"): lambda: self._paths_info(repo_type, repo_id, rev),
            ("GET", "runtime"): lambda: self._space_runtime(repo_type, repo_id),
            ("GET", "xet-read-token"): self._no_xet,
        }
        writes = {
            ("POST", "preupload"): lambda: self._preupload(repo_type, repo_id, rev),
            ("POST", "commit"): lambda: self._commit(repo_type, repo_id, rev),
            ("POST", "branch"): lambda: self._create_branch(repo_type, repo_id, "/".join(rest)),
            ("DELETE", "branch"): lambda: self._delete_branch(repo_type, repo_id, "/".join(rest)),
            ("POST", "tag"): lambda: self._create_tag(repo_type, repo_id, rev),
            ("DELETE", "tag"): lambda: self._delete_tag(repo_type, repo_id, "/".join(rest)),
            ("PUT", "settings"): lambda: self._settings(repo_type, repo_id),
            ("GET", "xet-write-token"): self._no_xet,
        }
        if (method, action) in reads:
            if method != "GET" and action != "paths-info" and self._has_body():
                self._require_json_type()
            self._check_read(repo_type, repo_id)
            return reads[(method, action)]()
        if (method, action) in writes:
            if method != "GET" and self._has_body():
                self._require_json_type()
            self._check_write(repo_type, repo_id)  # before any body is read
            return writes[(method, action)]()
        raise HubError(404, f"No API route for {method} /api/{'/'.join(segs)[:200]}")

    def _no_xet(self) -> None:
        raise HubError(
            501,
            "The local Hub does not speak Xet: set HF_HUB_DISABLE_XET=1 in the client environment "
            "(before importing huggingface_hub) so uploads use the LFS protocol",
        )

    # ------------------------------------------------------------------ identity and repos
    def _whoami(self) -> None:
        identity = self._require_identity(role_needed="read")
        self._send_json(whoami_doc(identity))

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        return f"{self.base_url}/{views.repo_url_prefix(repo_type)}{repo_id}"

    def _create_repo(self) -> None:
        identity = self._require_identity()
        body = self._json_body()
        repo_type = validate_repo_type(body.get("type") or "model")
        name, org = body.get("name"), body.get("organization")
        if not isinstance(name, str) or not name:
            raise bad_request("create repo: 'name' is required")
        if org is not None and not isinstance(org, str):
            raise bad_request("create repo: 'organization' must be a string")
        repo_id = validate_repo_id(f"{org or identity.user}/{name}")
        extra = {}
        if repo_type == "space":
            sdk = body.get("sdk")
            if sdk not in SPACE_SDKS:
                raise bad_request(f"create repo: a Space needs 'sdk', one of {', '.join(SPACE_SDKS)}")
            extra["sdk"] = sdk
        namespace = repo_id.split("/")[0]
        if not identity.can_write(namespace):
            raise HubError(403, f"You don't have the rights to create a repo under the namespace {namespace!r}")
        private = body.get("visibility") == "private" or body.get("private") is True
        url = self._repo_url(repo_type, repo_id)
        if not self.store.create_repo(repo_type, repo_id, private, identity.user, extra):
            raise HubError(409, f"You already created this {repo_type} repo: {repo_id}", extra={"url": url})
        logger.info("local Hub: %s created %s %s", identity.user, repo_type, repo_id)
        self._send_json({"url": url, "name": repo_id, "id": repo_id})

    def _delete_repo(self) -> None:
        identity = self._require_identity()
        body = self._json_body()
        repo_type = validate_repo_type(body.get("type") or "model")
        name, org = body.get("name"), body.get("organization")
        if not isinstance(name, str) or (org is not None and not isinstance(org, str)):
            raise bad_request("delete repo: 'name' (and 'organization', if given) must be strings")
        repo_id = validate_repo_id(f"{org or identity.user}/{name}")
        self._check_write(repo_type, repo_id)
        self.store.delete_repo(repo_type, repo_id)
        logger.info("local Hub: %s deleted %s %s", identity.user, repo_type, repo_id)
        self._send_json({})

    def _settings(self, repo_type: str, repo_id: str) -> None:
        body = self._json_body()
        private = body.get("private")
        if body.get("visibility") is not None:
            private = body["visibility"] == "private"
        if private is not None and not isinstance(private, bool):
            raise bad_request("settings: 'private' must be true or false")
        self.store.update_settings(repo_type, repo_id, private)
        self._send_json({})

    def _list_repos(self, repo_type: str) -> None:
        author = (self.query.get("author") or [None])[-1]
        search = (self.query.get("search") or [None])[-1]
        out = []
        for repo_id in self.store.list_repos(repo_type):
            namespace = repo_id.split("/")[0]
            if (author and namespace != author) or (search and search.lower() not in repo_id.lower()):
                continue
            try:
                meta = self.store.repo_meta(repo_type, repo_id)
            except HubError:
                continue  # deleted meanwhile
            if meta.get("private") and not (self.identity and self.identity.can_read_private(namespace)):
                continue
            item = {"id": repo_id, "private": meta["private"], "lastModified": meta["lastModified"]}
            if repo_type == "space":
                item["sdk"] = meta.get("sdk")
            out.append(item)
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

    def _space_runtime(self, repo_type: str, repo_id: str) -> None:
        if repo_type != "space":
            raise HubError(404, "runtime: only Spaces have a runtime")
        sha = self.store.resolve(repo_type, repo_id, DEFAULT_BRANCH)
        self._send_json(views.repo_info(self.store, repo_type, repo_id, sha)["runtime"])

    # ------------------------------------------------------------------ refs and history
    def _refs(self, repo_type: str, repo_id: str) -> None:
        self._send_json(views.refs(self.store, repo_type, repo_id, truthy(self.query.get("include_prs"))))

    def _commits(self, repo_type: str, repo_id: str, revision: str) -> None:
        sha = self.store.resolve(repo_type, repo_id, revision)
        formatted = "formatted" in (self.query.get("expand[]") or []) + (self.query.get("expand") or [])
        history = self.store.history(repo_type, repo_id, sha)
        self._send_json([views.commit_doc(commit, formatted) for commit in history])

    def _create_branch(self, repo_type: str, repo_id: str, branch: str) -> None:
        body = self._json_body()
        starting_point = body.get("startingPoint")
        if starting_point is not None and not isinstance(starting_point, str):
            raise bad_request("create branch: 'startingPoint' must be a string")
        self.store.create_branch(repo_type, repo_id, branch, starting_point)
        self._send_json({})

    def _delete_branch(self, repo_type: str, repo_id: str, branch: str) -> None:
        self.store.delete_branch(repo_type, repo_id, branch)
        self._send_json({})

    def _create_tag(self, repo_type: str, repo_id: str, revision: str) -> None:
        body = self._json_body()
        tag, message = body.get("tag"), body.get("message")
        if not isinstance(tag, str):
            raise bad_request("create tag: 'tag' is required")
        if message is not None and not isinstance(message, str):
            raise bad_request("create tag: 'message' must be a string")
        self.store.create_tag(repo_type, repo_id, tag, revision, message)
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
        root = self.store.get_commit(repo_type, repo_id, sha)["tree"]
        entries = views.list_tree(
            self.store.trees(repo_type, repo_id), root, folder, truthy(self.query.get("recursive"))
        )
        if truthy(self.query.get("expand")):
            commits = views.last_commits(self.store, repo_type, repo_id, sha, [e["path"] for e in entries])
            for entry in entries:
                entry["lastCommit"] = commits[entry["path"]]
        self._send_json(entries)

    def _paths_info(self, repo_type: str, repo_id: str, revision: str) -> None:
        media = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        raw = self._body(self.limits.max_json_bytes).decode("utf-8", errors="replace")
        if "json" in media:
            try:
                payload = json.loads(raw or "{}")
            except json.JSONDecodeError:
                raise bad_request("paths-info: the body is not valid JSON") from None
            except RecursionError:
                raise bad_request("paths-info: the body is nested too deeply") from None
            if not isinstance(payload, dict):
                raise bad_request("paths-info: the body must be a JSON object")
            paths, expand = payload.get("paths") or [], bool(payload.get("expand"))
        else:
            form = parse_qs(raw, keep_blank_values=True)
            paths, expand = form.get("paths") or [], truthy(form.get("expand"))
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise bad_request("paths-info: 'paths' must be a list of strings")
        unique = list(dict.fromkeys(p.strip("/") for p in paths))  # a path asked twice is answered once
        if len(unique) > self.limits.max_paths_info:
            raise bad_request(
                f"paths-info: {len(unique)} distinct paths asked at once; at most {self.limits.max_paths_info}"
            )
        sha = self.store.resolve(repo_type, repo_id, revision)
        root = self.store.get_commit(repo_type, repo_id, sha)["tree"]
        trees = self.store.trees(repo_type, repo_id)
        entries = []
        for path in unique:
            if path:
                validate_path_in_repo(path)
            entry = views.tree_entry(trees, root, path) if path else None
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
        self._check_read(repo_type, repo_id)
        sha = self.store.resolve(repo_type, repo_id, revision)
        root = self.store.get_commit(repo_type, repo_id, sha)["tree"]
        entry = self.store.trees(repo_type, repo_id).lookup(root, path)
        self._extra_headers["X-Repo-Commit"] = sha
        if entry is None or "sha256" not in entry:
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
            match = _RANGE_RE.fullmatch(range_header.strip())
            if match and (match.group(1) or match.group(2)) and len(range_header) < 64:
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
                chunk = handle.read(min(remaining, CHUNK))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)


def make_server(
    data_dir: Path | str,
    host: str = "127.0.0.1",
    port: int = 0,
    tokens_file: Path | str | None = None,
    public_url: str | None = None,
    limits: Limits | None = None,
) -> HubHTTPServer:
    """Create (not start) a local Hub server over `data_dir`; `port=0` picks a free port.

    Without `tokens_file` the server makes one admin token (`server.admin_token`, also in `<data_dir>/admin-token`)
    and refuses to bind anything but loopback. Raises `ValueError` (bad tokens file, non-loopback without tokens)
    or `OSError` (cannot bind).
    """
    if tokens_file is None and not is_loopback(host):
        raise ValueError(
            f"refusing to serve on {host} without --tokens: anyone who can reach it could write. "
            "Give a tokens file (see README 'Running a shared Hub') or bind 127.0.0.1"
        )
    if public_url is not None and urlsplit(public_url).scheme not in ("http", "https"):
        raise ValueError(f"--public-url must start with http:// or https://, got {public_url!r}")
    store = HubStore(data_dir)
    store.clean_start_up_debris()
    admin_token = None
    if tokens_file is not None:
        tokens = TokenRegistry.from_file(Path(tokens_file))
    else:
        admin_token = ensure_admin_token(store.root)
        tokens = TokenRegistry([(admin_token, Identity(user=LOCAL_ADMIN_USER, role="admin"))])
    server = HubHTTPServer((host, port), HubRequestHandler, store, tokens, limits or Limits(), public_url, admin_token)
    if not is_loopback(host) and not (public_url or "").startswith("https://"):
        logger.warning(
            "local Hub: serving %s over plain HTTP: tokens cross the network in clear; put a TLS reverse proxy in "
            "front and pass its https:// URL as --public-url",
            host,
        )
    if public_url is None and not is_loopback(host):  # a wildcard bind: hand out a name others can reach
        server.public_url = f"http://{socket.getfqdn()}:{server.server_address[1]}"
        server.allowed_origins.add(origin_of(server.public_url))
        logger.warning("local Hub: no --public-url given; links will use %s", server.public_url)
    return server


def _watch_parent(parent_pid: int, server: HubHTTPServer) -> None:
    """Stop serving when the process that started us is gone (no orphan servers after a killed test run)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:  # re-parented: our parent exited, however it died
            logger.info("local Hub: parent process %d exited, stopping", parent_pid)
            server.shutdown()
            return


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = Limits()
    parser.add_argument("--max-json-bytes", type=int, default=defaults.max_json_bytes)
    parser.add_argument("--max-inline-file-bytes", type=int, default=defaults.max_inline_file_bytes)
    parser.add_argument("--max-commit-bytes", type=int, default=defaults.max_commit_bytes)
    parser.add_argument("--socket-timeout", type=float, default=defaults.socket_timeout_s)
    parser.add_argument("--max-connections", type=int, default=defaults.max_connections)
    parser.add_argument("--max-connections-per-address", type=int, default=defaults.max_connections_per_address)
    parser.add_argument("--header-timeout", type=float, default=defaults.header_timeout_s)
    parser.add_argument("--min-body-rate", type=int, default=defaults.min_body_rate)
    parser.add_argument("--body-grace", type=float, default=defaults.body_grace_s)
    parser.add_argument("--max-paths-info", type=int, default=defaults.max_paths_info)


def limits_from_args(args: argparse.Namespace) -> Limits:
    return Limits(
        max_json_bytes=args.max_json_bytes,
        max_inline_file_bytes=args.max_inline_file_bytes,
        max_commit_bytes=args.max_commit_bytes,
        socket_timeout_s=args.socket_timeout,
        max_connections=args.max_connections,
        max_connections_per_address=args.max_connections_per_address,
        header_timeout_s=args.header_timeout,
        min_body_rate=args.min_body_rate,
        body_grace_s=args.body_grace,
        max_paths_info=args.max_paths_info,
    )


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted; print `STAR1_HUB_READY <endpoint>` on stdout once listening."""
    parser = argparse.ArgumentParser(description="Local Hugging Face Hub-protocol server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8811)
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--tokens", type=Path, default=None, help="YAML tokens file (see star1_hub.hubserver.auth)")
    parser.add_argument("--public-url", default=None, help="base URL clients reach this server at")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process exits")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--remove-data-dir-on-exit", action="store_true", help="for temporary test/demo hubs")
    add_limit_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        server = make_server(args.data_dir, args.host, args.port, args.tokens, args.public_url, limits_from_args(args))
    except ValueError as exc:
        sys.stderr.write(f"star1 local Hub: {exc}\n")
        raise SystemExit(2) from None
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
