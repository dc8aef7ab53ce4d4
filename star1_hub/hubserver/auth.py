"""Who may do what on the local Hub: bearer tokens, roles and namespaces.

`star1 hub serve --tokens FILE` reads a YAML file::

    tokens:
      - {token: "hf_...", user: alice, role: write, orgs: [team]}   # role: read | write | admin
      - {token: "hf_...", user: bob, role: read}

A `write` token writes only in its user's and its orgs' namespaces, `admin` everywhere, `read` never. Private
repos are readable by tokens whose user or orgs own the namespace (and by admins); to anyone else they do not
exist (404, absent from listings). Without a tokens file the server makes one admin token (`ensure_admin_token`).
Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from star1_hub.errors import Star1Error
from star1_hub.hubserver.errors import HubError
from star1_hub.hubserver.names import validate_repo_part

ROLES = ("read", "write", "admin")
ADMIN_TOKEN_FILE = "admin-token"
SIGNING_KEY_FILE = "signing-key"
LOCAL_ADMIN_USER = "star1-local"
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"  # the Hub's message; the client keys on it
_TOKEN_RE = re.compile(r"[\x21-\x7e]{8,512}")


@dataclass(frozen=True)
class Identity:
    """The holder of one token."""

    user: str
    role: str
    orgs: tuple[str, ...] = field(default_factory=tuple)

    @property
    def namespaces(self) -> tuple[str, ...]:
        return (self.user, *self.orgs)

    def can_write(self, namespace: str) -> bool:
        return self.role == "admin" or (self.role == "write" and namespace in self.namespaces)

    def can_read_private(self, namespace: str) -> bool:
        return self.role == "admin" or namespace in self.namespaces


class TokenError(Star1Error, ValueError):
    """A tokens file that cannot be used; the message names the entry and what to fix."""


def _check_entry(number: int, item: object) -> tuple[str, Identity]:
    where = f"tokens[{number}]"
    if not isinstance(item, dict):
        raise TokenError(f"{where}: expected a mapping like {{token: ..., user: ..., role: write}}")
    unknown = set(item) - {"token", "user", "role", "orgs"}
    if unknown:
        raise TokenError(f"{where}: unknown keys {sorted(unknown)}; allowed: token, user, role, orgs")
    token, user, role, orgs = item.get("token"), item.get("user"), item.get("role", "read"), item.get("orgs") or []
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        raise TokenError(f"{where}: 'token' must be 8-512 printable ASCII characters without spaces")
    if role not in ROLES:
        raise TokenError(f"{where}: 'role' must be one of {', '.join(ROLES)}, got {role!r}")
    if not isinstance(orgs, list) or not all(isinstance(o, str) for o in orgs):
        raise TokenError(f"{where}: 'orgs' must be a list of names")
    try:
        validate_repo_part(user, "user name")
        for org in orgs:
            validate_repo_part(org, "org name")
    except HubError as exc:
        raise TokenError(f"{where}: {exc.message}") from None
    return token, Identity(user=user, role=role, orgs=tuple(orgs))


class TokenRegistry:
    """The tokens one server accepts."""

    def __init__(self, entries: list[tuple[str, Identity]]):
        if not entries:
            raise TokenError("no tokens: list at least one under 'tokens:'")
        digests = [hashlib.sha256(token.encode()).digest() for token, _ in entries]
        if len(set(digests)) != len(digests):
            raise TokenError("the same token appears twice")
        self._entries = list(zip(digests, (identity for _, identity in entries), strict=True))

    @classmethod
    def from_file(cls, path: Path) -> TokenRegistry:
        import yaml

        try:
            payload = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise TokenError(f"cannot read tokens file {path}: {' '.join(str(exc).split())[:200]}") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("tokens"), list):
            raise TokenError(f"{path}: expected a top-level 'tokens:' list")
        try:
            return cls([_check_entry(n, item) for n, item in enumerate(payload["tokens"])])
        except TokenError as exc:
            raise TokenError(f"{path}: {exc}") from None

    def identify(self, token: str) -> Identity | None:
        """The identity of `token`, or None; every entry is compared in constant time."""
        digest = hashlib.sha256(token.encode("utf-8", "replace")).digest()
        found = None
        for known, identity in self._entries:
            if hmac.compare_digest(known, digest):
                found = identity
        return found


def ensure_admin_token(data_dir: Path) -> str:
    """The admin token of a server run without `--tokens`: reused from `<data_dir>/admin-token` (0600) or made."""
    path = Path(data_dir) / ADMIN_TOKEN_FILE
    if path.is_file():
        token = path.read_text(encoding="utf-8").strip()
        if _TOKEN_RE.fullmatch(token) and (path.stat().st_mode & 0o077) == 0:
            return token
    token = "hf_local_" + secrets.token_urlsafe(30)
    tmp = path.with_name(f".{ADMIN_TOKEN_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.replace(tmp, path)
    return token


def read_admin_token(data_dir: Path) -> str:
    """The token `ensure_admin_token` wrote (for the project's own clients: tests, demo)."""
    return (Path(data_dir) / ADMIN_TOKEN_FILE).read_text(encoding="utf-8").strip()


def signing_key(data_dir: Path) -> bytes:
    """The per-data-dir secret that signs LFS upload links (shared by every server process on the dir)."""
    path = Path(data_dir) / SIGNING_KEY_FILE
    try:
        key = path.read_bytes()
        if len(key) == 32:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    tmp = path.with_name(f".{SIGNING_KEY_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    try:
        os.link(tmp, path)  # first writer wins; a concurrent server reads the winner's key
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return path.read_bytes()


def sign_upload(key: bytes, repo_type: str, repo_id: str, oid: str, size: int, ttl_s: float = 24 * 3600) -> str:
    """Query string (`size`, `expires`, `sig`) that authorises one LFS upload without a bearer token."""
    expires = int(time.time() + ttl_s)
    message = f"{repo_type}\n{repo_id}\n{oid}\n{size}\n{expires}".encode()
    sig = base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode().rstrip("=")
    return f"size={size}&expires={expires}&sig={sig}"


def check_upload_signature(
    key: bytes, repo_type: str, repo_id: str, oid: str, size: str, expires: str, sig: str
) -> int:
    """The signed size of an LFS upload link; raise 403 when the link is forged, altered or expired."""
    if not size.isdigit() or not expires.isdigit():
        raise HubError(403, "LFS upload link is not signed by this Hub: ask the batch API for a new one")
    message = f"{repo_type}\n{repo_id}\n{oid}\n{size}\n{expires}".encode()
    expected = base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode().rstrip("=")
    if not hmac.compare_digest(expected.encode(), sig.encode("ascii", "replace")):
        raise HubError(403, "LFS upload link is not signed by this Hub: ask the batch API for a new one")
    if int(expires) < time.time():
        raise HubError(403, "LFS upload link expired: ask the batch API for a new one")
    return int(size)


def whoami_doc(identity: Identity) -> dict:
    """The `/api/whoami-v2` document, shaped like the Hub's."""
    return {
        "type": "user",
        "id": hashlib.sha1(identity.user.encode()).hexdigest()[:24],
        "name": identity.user,
        "fullname": identity.user,
        "email": None,
        "emailVerified": False,
        "canPay": False,
        "isPro": False,
        "periodEnd": None,
        "avatarUrl": "",
        "orgs": [
            {
                "type": "org",
                "id": hashlib.sha1(org.encode()).hexdigest()[:24],
                "name": org,
                "fullname": org,
                "roleInOrg": "admin" if identity.role == "admin" else identity.role,
                "avatarUrl": "",
            }
            for org in identity.orgs
        ],
        "auth": {"type": "access_token", "accessToken": {"displayName": identity.user, "role": identity.role}},
    }
