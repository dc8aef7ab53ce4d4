"""The write path of the local Hub: preupload, the LFS batch API and signed upload links, and NDJSON commits.

A commit body is streamed line by line (each line at most one inline file, `Limits.max_inline_file_bytes`), its
inline files stored through a `BlobBatch` as they arrive, under the shared `gc` lock, after the route checked the
token's write access to the repo.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re

from star1_hub.hubserver import views
from star1_hub.hubserver.auth import LOCAL_ADMIN_USER, check_upload_signature, sign_upload
from star1_hub.hubserver.blobs import BlobBatch
from star1_hub.hubserver.errors import HubError, bad_request, repo_not_found, too_large
from star1_hub.hubserver.handler_base import HubHandlerBase, truthy
from star1_hub.hubserver.names import validate_path_in_repo, validate_repo_id
from star1_hub.hubserver.store import validate_repo_type

logger = logging.getLogger(__name__)


class UploadRoutes(HubHandlerBase):
    """Handlers of the upload and commit endpoints."""

    def _preupload(self, repo_type: str, repo_id: str, revision: str) -> None:
        body = self._json_body()
        files = body.get("files")
        if not isinstance(files, list) or not all(isinstance(item, dict) for item in files):
            raise bad_request("preupload: 'files' must be a list of objects")
        try:
            sha = self.store.resolve(repo_type, repo_id, revision)
        except HubError:
            sha = None  # a PR or a branch about to be created: nothing to compare with
        trees = self.store.trees(repo_type, repo_id)
        root = self.store.get_commit(repo_type, repo_id, sha)["tree"] if sha else None
        out = []
        for item in files:
            path = validate_path_in_repo(item.get("path") if isinstance(item.get("path"), str) else "")
            size = item.get("size") or 0
            if not isinstance(size, int) or size < 0:
                raise bad_request(f"preupload: 'size' of {path!r} must be a non-negative integer")
            try:
                sample = base64.b64decode(item.get("sample") or "")
            except (binascii.Error, ValueError, TypeError):
                raise bad_request(f"preupload: 'sample' of {path!r} is not base64") from None
            mode = views.upload_mode(path, size, sample, self.limits.max_inline_file_bytes)
            remote = trees.lookup(root, path) if root else None
            oid = None
            if remote is not None and "sha256" in remote:
                oid = remote["sha256"] if remote["lfs"] else remote["oid"]
            out.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        self._send_json({"files": out, "commitOid": sha})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        validate_repo_id(repo_id)
        if self._has_body():
            self._require_json_type()
        self._check_write(repo_type, repo_id)
        body = self._json_body()
        operation = body.get("operation")
        objects = body.get("objects")
        if operation != "upload" or not isinstance(objects, list):
            raise bad_request("LFS batch: only 'operation': 'upload' with a list of 'objects' is supported")
        out = []
        with self.store.writing_blobs():  # so `gc` cannot remove an object we report as already present
            for obj in objects:
                oid, size = (obj.get("oid"), obj.get("size")) if isinstance(obj, dict) else (None, None)
                if not isinstance(oid, str) or not re.fullmatch(r"[0-9a-f]{64}", oid) or type(size) is not int:
                    raise bad_request("LFS batch: each object needs a sha256 hex 'oid' and an integer 'size'")
                if not 0 <= size <= self.limits.max_lfs_file_bytes:
                    raise too_large(f"LFS batch: object {oid} is over {self.limits.max_lfs_file_bytes} bytes")
                item: dict = {"oid": oid, "size": size, "authenticated": True}
                # No "actions" tells the client the object is already there: only said for objects of THIS repo
                # (uploaded to it or in its history), so the answer reveals nothing about other repos' content.
                if not self.store.lfs_object_in_repo(repo_type, repo_id, oid):
                    query = sign_upload(self.server.signing_key, repo_type, repo_id, oid, size)
                    href = f"{self.base_url}/lfs-upload/{repo_type}/{repo_id}/{oid}?{query}"
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

        def arg(name: str) -> str:
            values = self.query.get(name)
            return values[-1] if values else ""

        size = check_upload_signature(
            self.server.signing_key, repo_type, repo_id, oid, arg("size"), arg("expires"), arg("sig")
        )
        if not self.store.exists(repo_type, repo_id):
            raise repo_not_found(repo_type, repo_id)
        length = self._content_length()
        if length is not None and length != size:
            raise bad_request(f"LFS upload: Content-Length {length} differs from the announced size {size}")
        with self.store.writing_blobs():
            # Stored (and its sha256 checked) even when the blob exists: the upload proves the client has it.
            self.store.blobs.put_stream(self._iter_body(size, "LFS object"), oid, size)
            self.store.mark_uploaded(repo_type, repo_id, oid)
        self._send_json({})

    def _read_commit(self, repo_type: str, repo_id: str) -> tuple[dict, list[tuple[str, str, dict | None]]]:
        """Stream the NDJSON commit body: store each inline file as it arrives, keep only tree entries."""
        header: dict = {}
        operations: list[tuple[str, str, dict | None]] = []
        limits = self.limits
        lines = self._iter_ndjson_lines(limits.max_commit_bytes, limits.max_commit_line_bytes)
        with self.store.blobs.batch() as batch:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    key, value = item["key"], item["value"]
                except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
                    raise bad_request(f"commit: line {number} is not a {{'key', 'value'}} JSON object") from None
                if not isinstance(value, dict):
                    raise bad_request(f"commit: 'value' on line {number} must be an object")
                if key == "header":
                    header = value
                    continue
                if len(operations) >= limits.max_commit_operations:
                    raise too_large(f"commit: more than {limits.max_commit_operations} operations; split it")
                operations.append(self._commit_operation(repo_type, repo_id, number, key, value, batch))
        return header, operations

    def _commit_operation(
        self, repo_type: str, repo_id: str, number: int, key: str, value: dict, batch: BlobBatch
    ) -> tuple[str, str, dict | None]:
        """One NDJSON commit line as `(kind, path, entry)`; inline file content is stored through `batch`."""
        raw_path = value.get("path")
        if not isinstance(raw_path, str):
            raise bad_request(f"commit: 'path' on line {number} must be a string")
        path = validate_path_in_repo(raw_path.rstrip("/") if key == "deletedFolder" else raw_path)
        if key == "file":
            return "add", path, self.store.regular_entry(self._inline_content(path, value), batch)
        if key == "lfsFile":
            if value.get("algo", "sha256") != "sha256":
                raise bad_request(f"commit: LFS file {path!r} must use algo sha256")
            size = value.get("size")
            if size is not None and type(size) is not int:
                raise bad_request(f"commit: 'size' of LFS file {path!r} must be an integer")
            entry = self.store.make_lfs_entry(value.get("oid"), size, path, repo_type, repo_id)
            if path == "README.md":  # a card sent through LFS meets the same checks as an inline one
                with self.store.blobs.open(entry["sha256"]) as handle:
                    hazard = views.front_matter_hazard(handle.read(views.MAX_FRONT_MATTER_CHARS * 4 + 16))
                if hazard:
                    raise bad_request(f"commit: README.md rejected: {hazard}")
            return "add", path, entry
        if key == "deletedFile":
            return "delete_file", path, None
        if key == "deletedFolder":
            return "delete_folder", path, None
        raise bad_request(f"commit: unsupported operation {str(key)[:40]!r} on line {number}")

    def _inline_content(self, path: str, value: dict) -> bytes:
        limit = self.limits.max_inline_file_bytes
        if value.get("encoding", "base64") != "base64":
            raise bad_request(f"commit: file {path!r} must be base64-encoded")
        content = value.get("content", "")
        if not isinstance(content, str):
            raise bad_request(f"commit: 'content' of {path!r} must be a base64 string")
        if len(content) > (limit + 2) // 3 * 4 + 4:
            raise too_large(f"File {path!r} is over {limit} bytes: upload it through LFS")
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request(f"commit: content of {path!r} is not valid base64") from None
        if len(data) > limit:
            raise too_large(f"File {path!r} is over {limit} bytes: upload it through LFS")
        if path == "README.md":
            hazard = views.front_matter_hazard(data)
            if hazard:
                raise bad_request(f"commit: README.md rejected: {hazard}")
        return data

    def _commit(self, repo_type: str, repo_id: str, revision: str) -> None:
        identity = self.identity  # `_check_write` ran before the body
        create_pr = truthy(self.query.get("create_pr"))
        with self.store.writing_blobs():
            header, operations = self._read_commit(repo_type, repo_id)
            parent = header.get("parentCommit")
            if parent is not None and not isinstance(parent, str):
                raise bad_request("commit: 'parentCommit' must be a string")
            sha, pr_num = self.store.commit(
                repo_type,
                repo_id,
                revision,
                operations,
                title=str(header.get("summary") or "Update files"),
                message=str(header.get("description") or ""),
                author=identity.user if identity else LOCAL_ADMIN_USER,
                parent_commit=parent,
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
