"""Which repo ids, file paths and ref names the local Hub accepts.

A name is accepted only if every official client can write it to disk: `huggingface_hub` refuses (at download
time) any path with a `..` segment or a segment Windows reads as a drive or root (`a:b`, `C:`), so a repo holding
one could not be snapshot-downloaded. On top of that the Hub rejects control characters, bidirectional-override
characters (they make a listing lie about a name), segments over 255 bytes (the usual filesystem limit) and
names whose Unicode NFC forms collide (`café.txt` typed precomposed and decomposed would land on one file on macOS).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PureWindowsPath

from star1_hub.hubserver.errors import bad_request

MAX_PATH_CHARS = 1000
MAX_SEGMENT_BYTES = 255
REPO_NAME_MAX_CHARS = 96

_REPO_PART_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_SHA_RE = re.compile(r"[0-9a-f]{40}")
# Bidirectional embedding/override/isolate controls and the implicit marks (Unicode "Cf" bidi characters).
_BIDI_CHARS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
FORBIDDEN_FOLDERS = (".git", ".cache")  # huggingface_hub refuses to commit under these


def _bad_char(text: str) -> str | None:
    """The first control or bidi character of `text` as `U+XXXX`, or None."""
    for char in text:
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F or char in _BIDI_CHARS or code in (0x2028, 0x2029):
            return f"U+{code:04X}"
    return None


def validate_repo_part(part: str, what: str) -> str:
    """One side of `namespace/name`: letters, digits, `-_.`, starting with a letter or digit, at most 96 chars."""
    if not isinstance(part, str) or not _REPO_PART_RE.fullmatch(part) or ".." in part or part.endswith(".git"):
        raise bad_request(
            f"Invalid {what} {part!r}: use letters, digits, '-', '_' or '.' (start with a letter or digit, "
            f"at most {REPO_NAME_MAX_CHARS} characters, no '..', no '.git' suffix)"
        )
    return part


def validate_repo_id(repo_id: str) -> str:
    """Check `namespace/name` in full (no trailing newline slips through); raise a 400 HubError otherwise."""
    parts = repo_id.split("/") if isinstance(repo_id, str) else []
    if len(parts) != 2:
        raise bad_request(f"Invalid repo id {repo_id!r}: use 'namespace/name'")
    validate_repo_part(parts[0], "namespace")
    validate_repo_part(parts[1], "repo name")
    return repo_id


def validate_path_in_repo(path: str) -> str:
    """Reject paths a client could not write safely; raise a 400 HubError naming the reason."""
    if not isinstance(path, str) or not path:
        raise bad_request("Invalid path in repo: empty")
    if len(path) > MAX_PATH_CHARS:
        raise bad_request(f"Invalid path in repo {path[:60]!r}...: longer than {MAX_PATH_CHARS} characters")
    if path.startswith("/") or "\\" in path:
        raise bad_request(f"Invalid path in repo {path!r}: must be relative, with '/' separators and no '\\'")
    bad = _bad_char(path)
    if bad:
        raise bad_request(f"Invalid path in repo {path!r}: contains the control or bidi character {bad}")
    segments = path.split("/")
    if any(seg in ("", ".", "..") for seg in segments):
        raise bad_request(f"Invalid path in repo {path!r}: empty, '.' or '..' segment")
    if segments[0] in FORBIDDEN_FOLDERS or (len(segments) > 1 and any(s in FORBIDDEN_FOLDERS for s in segments)):
        raise bad_request(f"Invalid path in repo {path!r}: files under '.git/' or '.cache/' are not allowed")
    for segment in segments:
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise bad_request(f"Invalid path in repo {path[:60]!r}: a segment is over {MAX_SEGMENT_BYTES} bytes")
        if ":" in segment and (windows := PureWindowsPath(segment)) and (windows.drive or windows.root):
            raise bad_request(
                f"Invalid path in repo {path!r}: segment {segment!r} reads as a Windows drive; huggingface_hub "
                "refuses to download it"
            )
    return path


def nfc_key(name: str) -> str:
    """The name two entries of one folder must not share (their NFC form)."""
    return name if name.isascii() else unicodedata.normalize("NFC", name)


def check_no_nfc_twins(folder: str, names: list[str]) -> None:
    """Raise a 400 HubError when two different names of one folder have the same NFC form."""
    seen: dict[str, str] = {}
    for name in names:
        key = nfc_key(name)
        other = seen.setdefault(key, name)
        if other != name:
            where = f"folder {folder!r}" if folder else "the repo root"
            raise bad_request(
                f"Invalid path: {name!r} and {other!r} in {where} are the same name in Unicode NFC form; "
                "keep one spelling"
            )


def validate_ref_name(name: str) -> str:
    """Branch and tag names: git-like, no traversal, not a 40-hex sha and not under `refs/`."""
    if (
        not isinstance(name, str)
        or not name
        or len(name) > 200
        or name.startswith(("/", "-", "refs/"))
        or name.endswith(("/", ".lock", "."))
        or ".." in name
        or any(c in name for c in "\\\0 ~^:?*[")
        or _bad_char(name)
        or "//" in name
        or _SHA_RE.fullmatch(name)
    ):
        raise bad_request(f"Invalid reference name {name!r}")
    return name
