"""The source folder: which of its entries are SQL files we may read, and how a file is keyed.

Only regular files are planned: a FIFO would block `open` forever, a socket or device is not SQL.
A symbolic link is followed only while it stays inside the folder, unless INGEST_FOLLOW_SYMLINKS
says otherwise, so a link cannot pull an outside file's lineage into the graph unnoticed. Reads
open without blocking and re-check the file type on the open descriptor, so a file swapped for a
FIFO between scan and read fails with a reason instead of hanging.

Several folders can feed one graph: each is a *source* with a name, and a file's key (its
`SqlFile.path` and ledger key) is its relative path, prefixed with `<source>//` for every source
but `default`. A relative POSIX path never contains `//`, so keys of different sources never
collide, and the default source keeps the keys of graph contract v1.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import re
import stat as stat_module
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SOURCE = "default"
_SEPARATOR = "//"
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_source_name(name: str) -> str:
    """The name, or ValueError saying what a source name may be."""
    if not _SOURCE_NAME.match(name):
        raise ValueError(
            f"source name {name!r} is not allowed: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return name


def file_key(source: str, path: str) -> str:
    """The key of `path` (relative POSIX path) of `source` in the ledger and the graph."""
    return path if source == DEFAULT_SOURCE else f"{source}{_SEPARATOR}{path}"


def split_key(key: str) -> tuple[str, str]:
    """(source, relative path) of a key made by file_key."""
    source, separator, path = key.partition(_SEPARATOR)
    return (source, path) if separator else (DEFAULT_SOURCE, key)


def source_of(key: str) -> str:
    return split_key(key)[0]


@dataclass(frozen=True)
class ScanRules:
    """Which entries of the folder count: name/path globs, and whether links may leave the folder."""

    include: tuple[str, ...] = ("*.sql",)
    ignore: tuple[str, ...] = ()
    follow_symlinks: bool = False

    def matches(self, relative: str) -> bool:
        name = relative.rsplit("/", 1)[-1]
        return _matches(relative, name, self.include) and not _matches(relative, name, self.ignore)


@dataclass
class Scan:
    """What a scan found: readable candidates (relative path -> stat) and entries passed over, with why."""

    files: dict[str, os.stat_result] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def scan_sources(source_dir: Path, rules: ScanRules = ScanRules()) -> Scan:
    """Every matching regular file below source_dir (recursively), keyed by relative POSIX path."""
    scan = Scan()
    root = os.path.realpath(source_dir)
    visited: set[str] = set()
    for folder, dirs, files in os.walk(source_dir, followlinks=rules.follow_symlinks):
        dirs.sort()
        if rules.follow_symlinks:
            # Followed directory links can form cycles: each real directory is walked once.
            real = os.path.realpath(folder)
            if real in visited:
                dirs.clear()
                continue
            visited.add(real)
        for name in files:
            absolute = os.path.join(folder, name)
            relative = Path(absolute).relative_to(source_dir).as_posix()
            if not rules.matches(relative):
                continue
            _consider(scan, absolute, relative, root, rules)
    return scan


def _consider(scan: Scan, absolute: str, relative: str, root: str, rules: ScanRules) -> None:
    try:
        link = os.lstat(absolute)
    except OSError:
        return  # vanished between listing and stat: it is simply not there any more
    if stat_module.S_ISLNK(link.st_mode):
        target = os.path.realpath(absolute)
        if not rules.follow_symlinks and not _inside(target, root):
            scan.skipped[relative] = (
                f"symbolic link to {target}, outside the source folder; not followed (INGEST_FOLLOW_SYMLINKS=true follows it)"
            )
            return
        try:
            status = os.stat(absolute)
        except OSError:
            # A dangling link is still a file the user has: keep it so it is reported unreadable.
            scan.files[relative] = link
            return
    else:
        status = link
    kind = _kind(status.st_mode)
    if kind is not None:
        scan.skipped[relative] = f"{kind}, not a regular file; skipped"
        return
    scan.files[relative] = status


def _inside(target: str, root: str) -> bool:
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def _kind(mode: int) -> str | None:
    """What a non-regular file is, or None for a regular file."""
    for test, kind in (
        (stat_module.S_ISFIFO, "a FIFO (named pipe)"),
        (stat_module.S_ISSOCK, "a socket"),
        (stat_module.S_ISCHR, "a character device"),
        (stat_module.S_ISBLK, "a block device"),
        (stat_module.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return kind
    return None if stat_module.S_ISREG(mode) else "not a regular file"


def _matches(relative: str, name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(relative, p) for p in patterns)


def normalise_selected(path: str) -> str | None:
    """A user-given path relative to the source folder, normalised; None if it leaves the folder."""
    if not path or path.startswith("/") or os.path.isabs(path):
        return None
    normal = posixpath.normpath(path.replace(os.sep, "/"))
    if normal == "." or normal == ".." or normal.startswith("../"):
        return None
    return normal


@contextmanager
def _open_regular(path: Path) -> Iterator[tuple[int, os.stat_result]]:
    """An open descriptor on a regular file (checked on the descriptor itself, so no FIFO blocks us)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise UnreadableFile(f"cannot read {path.name}: {error.strerror or error}") from error
    try:
        status = os.fstat(fd)
        kind = _kind(status.st_mode)
        if kind is not None:
            raise UnreadableFile(f"cannot read {path.name}: it is {kind}")
        yield fd, status
    except OSError as error:
        raise UnreadableFile(f"cannot read {path.name}: {error.strerror or error}") from error
    finally:
        os.close(fd)


def _blocks(fd: int) -> Iterator[bytes]:
    while block := os.read(fd, 1 << 20):
        yield block


def read_source(path: Path, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file, read once; raises UnreadableFile (also past max_bytes, checked
    before reading) instead of blocking or reading something that is not SQL."""
    with _open_regular(path) as (fd, status):
        if max_bytes is not None and status.st_size > max_bytes:
            raise FileTooLarge(status.st_size, max_bytes, os.read(fd, 1 << 16))
        return b"".join(_blocks(fd))


def fingerprint(path: Path) -> tuple[str, bytes]:
    """(digest of the whole file, its first block), streamed; raises UnreadableFile like read_source.

    The first block carries the first line, where a `-- dialect:` comment would be.
    """
    digest = hashlib.sha256()
    head = b""
    with _open_regular(path) as (fd, _):
        for block in _blocks(fd):
            head = head or block
            digest.update(block)
    return digest.hexdigest(), head


def sha256_of(path: Path) -> str:
    return fingerprint(path)[0]


def sha256_bytes(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def sha256_or_none(path: Path) -> str | None:
    """The file's digest, or None when it cannot be read (gone, dangling link, not a regular file)."""
    try:
        return sha256_of(path)
    except UnreadableFile:
        return None


class UnreadableFile(Exception):
    """A planned file that cannot be read as SQL; str() says why, naming the file."""


class FileTooLarge(UnreadableFile):
    """A file past the size limit; `head` is its first bytes (enough for a `-- dialect:` line)."""

    def __init__(self, size: int, limit: int, head: bytes = b"") -> None:
        super().__init__(f"file is {size} bytes, more than the limit of {limit} (INGEST_MAX_FILE_BYTES); not parsed")
        self.size = size
        self.head = head


def selected_keys(source: str, keys: Iterable[str]) -> set[str]:
    """The keys in `keys` that belong to `source`."""
    return {key for key in keys if source_of(key) == source}
