"""Index versions on disk: one folder per build, a CURRENT pointer switched atomically.

A version is complete once its manifest.json exists (written last). The manifest
records the size and SHA-256 of every file, so a truncated or damaged file makes
its version invalid too. Readers follow CURRENT; if it points to a broken version
(or CURRENT is missing or garbage) they fall back to the newest intact one, so a
build killed half-way never leaves the service without an index.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

MANIFEST = "manifest.json"
# What new_version_dir names a version: anything else in CURRENT is garbage, never a path to follow.
VERSION_NAME = re.compile(r"^\d{8}T\d{12}-[0-9a-f]{6}$")


class NoIndex(RuntimeError):
    """No complete index version exists yet."""


def index_root(data_dir: str | Path) -> Path:
    """The folder holding all index versions of a data directory."""
    return Path(data_dir) / "index"


def new_version_dir(data_dir: str | Path) -> Path:
    """Create an empty, not yet valid, folder for a new version."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    path = index_root(data_dir) / "versions" / f"{stamp}-{secrets.token_hex(3)}"
    path.mkdir(parents=True)
    return path


def read_manifest(version_dir: Path) -> dict | None:
    """The manifest of a version, or None when the version is incomplete or corrupt (missing or resized files)."""
    try:
        manifest = json.loads((version_dir / MANIFEST).read_text())
        if not isinstance(manifest, dict):
            return None
        files = manifest.get("files", [])
        if not all((version_dir / name).exists() for name in files):
            return None
        # Sizes are cheap to check on every look; manifests written before checksums existed have none.
        for name, (size, _digest) in manifest.get("checksums", {}).items():
            if (version_dir / name).stat().st_size != size:
                return None
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    return manifest


def verify_version(version_dir: Path, every_byte: bool = False) -> bool:
    """True when the version is complete and every file still has the SHA-256 recorded at build time.

    A file is hashed unless the version's hash record (HASH_RECORD) shows it unchanged since it was
    hashed; `every_byte` hashes every file regardless.
    """
    manifest = read_manifest(version_dir)
    if manifest is None:
        return False
    checksums = manifest.get("checksums", {})
    record = {} if every_byte else read_hash_record(version_dir)
    try:
        keys = {name: _stat_key(version_dir / name) for name in checksums}
        todo = [name for name, (_size, digest) in checksums.items() if record.get(name) != [keys[name], digest]]
        # Two threads, as the build hashes: start-up and every switch of version wait for this.
        with ThreadPoolExecutor(max_workers=2) as pool:
            found = dict(zip(todo, pool.map(_hash_file, [version_dir / name for name in todo])))
    except OSError:
        return False
    if any(found[name] != checksums[name][1] for name in todo):
        return False
    if todo:
        _write_hash_record(version_dir, {name: [keys[name], digest] for name, (_size, digest) in checksums.items()})
    return True


# Per version, hashes.json: for each file, the stat key it had when hashed and its SHA-256. Hashing
# every byte of a 100 000-article version (3.5 GB) takes 1.5 s, and each process serving it did so
# at start-up and at every switch. A file written to through the file system since it was hashed
# has a new ctime (which the kernel sets and utime cannot set back), so a file whose key is unchanged
# holds the bytes that were hashed; it is not hashed again. The build writes the record with the
# manifest; a file linked from the previous version keeps that version's entry if it held before the
# link, and pruning rewrites the kept versions' records (a link or an unlink moves only the ctime);
# whatever the record does not vouch for is hashed and then recorded. `kb verify` hashes everything
# regardless. Not part of the manifest: a damaged or missing record costs only time.
HASH_RECORD = "hashes.json"


def read_hash_record(version_dir: Path) -> dict[str, list]:
    """The version's hash record: {file: [stat key, sha256]}, empty when missing or unreadable."""
    try:
        record = json.loads((version_dir / HASH_RECORD).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _write_hash_record(version_dir: Path, record: dict[str, list]) -> None:
    tmp = version_dir / f"{HASH_RECORD}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(record))
        os.replace(tmp, version_dir / HASH_RECORD)
    except OSError:   # a read-only data folder: verified all the same, only not remembered
        tmp.unlink(missing_ok=True)


def vouched_for(version_dir: Path) -> dict[str, list]:
    """The entries of a version's hash record that still hold (the file's stat key unchanged)."""
    held = {}
    for name, entry in read_hash_record(version_dir).items():
        try:
            if isinstance(entry, list) and len(entry) == 2 and entry[0] == _stat_key(version_dir / name):
                held[name] = entry
        except OSError:
            continue
    return held


def _stat_key(path: Path) -> str:
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _same_but_ctime(key: str, other: str) -> bool:
    return key.rsplit(":", 1)[0] == other.rsplit(":", 1)[0]


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksums(version_dir: Path, names: list[str], known: dict[str, list]) -> dict[str, list]:
    """[size, sha256] of every file under the listed files and folders, by path relative to the version.

    `known`: checksums of files linked from another version (indexer/delta.py), taken as they are.
    """
    paths: list[Path] = []
    for name in names:
        top = version_dir / name
        paths += sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]
    relative = [path.relative_to(version_dir).as_posix() for path in paths]
    todo = [path for path, name in zip(paths, relative) if name not in known]
    # hashlib lets go of the GIL on large blocks: two threads hash two files at once
    # (0.32 -> 0.17 s for the 450 MB of a 10 000-article version).
    with ThreadPoolExecutor(max_workers=2) as pool:
        digests = dict(zip(todo, pool.map(_hash_file, todo)))
    return {name: list(known[name]) if name in known else [path.stat().st_size, digests[path]]
            for path, name in zip(paths, relative)}


def write_manifest(version_dir: Path, manifest: dict, known: dict[str, list] | None = None,
                   vouched: dict[str, list] | None = None) -> None:
    """Write the manifest last, atomically: it is what makes the version valid (checksums of its files added).

    `known`: [size, sha256] of the files hard-linked from the previous version, not hashed again;
    `vouched`: that version's hash record as it held before the links (`vouched_for`). Then the
    version's own hash record: what this build hashed, and the linked files `vouched` holds.
    """
    known = known or {}
    checksums = _checksums(version_dir, manifest.get("files", []), known)
    manifest = dict(manifest, checksums=checksums)
    tmp = version_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    _fsync(tmp)
    os.replace(tmp, version_dir / MANIFEST)
    linked = {name: entry for name, entry in (vouched or {}).items() if name in known and entry[1] == known[name][1]}
    record = _rekeyed(version_dir, linked)
    for name, (_size, digest) in checksums.items():
        if name not in known:
            record[name] = [_stat_key(version_dir / name), digest]
    _write_hash_record(version_dir, record)


def _rekeyed(version_dir: Path, held: dict[str, list]) -> dict[str, list]:
    """The entries of `held` (read before this process linked or unlinked names of their files) whose
    file has changed only its ctime since, under the file's current stat key."""
    record = {}
    for name, (key, digest) in held.items():
        try:
            now = _stat_key(version_dir / name)
        except OSError:
            continue
        if _same_but_ctime(key, now):   # the same inode, size and mtime: only a link or unlink moved its ctime
            record[name] = [now, digest]
    return record


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def complete_versions(data_dir: str | Path) -> list[Path]:
    """All valid versions, oldest first."""
    folder = index_root(data_dir) / "versions"
    if not folder.is_dir():
        return []
    return [p for p in sorted(folder.iterdir()) if p.is_dir() and read_manifest(p) is not None]


def switch_to(data_dir: str | Path, version_dir: Path) -> None:
    """Point CURRENT at a version with an atomic rename."""
    root = index_root(data_dir)
    tmp = root / "CURRENT.tmp"
    tmp.write_text(version_dir.name + "\n")
    _fsync(tmp)
    os.replace(tmp, root / "CURRENT")


def current_version(data_dir: str | Path) -> Path:
    """The version to serve: CURRENT if intact, else the newest intact one; raises NoIndex if none."""
    root = index_root(data_dir)
    try:
        name = (root / "CURRENT").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        name = ""
    if VERSION_NAME.match(name) and verify_version(root / "versions" / name):
        return root / "versions" / name
    # CURRENT is missing, garbage or names a damaged version: serve the newest intact one instead.
    for candidate in reversed(complete_versions(data_dir)):
        if verify_version(candidate):
            return candidate
    raise NoIndex(f"no index in {root} (no intact version): run `kb index` first")


def current_unverified(data_dir: str | Path) -> Path | None:
    """The version CURRENT names if it is complete with the right sizes, without hashing its files.

    For a build that extends the current version: hashing every byte of it would cost as much as
    the rest of an incremental build, and the server still verifies checksums before it serves.
    """
    root = index_root(data_dir)
    try:
        name = (root / "CURRENT").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    if VERSION_NAME.match(name) and read_manifest(root / "versions" / name) is not None:
        return root / "versions" / name
    return None


def current_marker(data_dir: str | Path) -> str:
    """A cheap value that changes whenever CURRENT is switched (for reload checks)."""
    try:
        stat = (index_root(data_dir) / "CURRENT").stat()
        return f"{stat.st_mtime_ns}:{stat.st_ino}"
    except OSError:
        return ""


def prune(data_dir: str | Path, keep: int, protect: Path | None = None) -> None:
    """Remove old versions and leftovers of killed builds, keeping the newest `keep` valid ones."""
    folder = index_root(data_dir) / "versions"
    if not folder.is_dir():
        return
    valid = complete_versions(data_dir)
    keep_set = set(valid[-max(1, keep):])
    if protect is not None:
        keep_set.add(protect)
    # Removing a name of a file that a kept version links moves the file's ctime: their hash records
    # are read before and written again after, so the bytes still need no hashing (HASH_RECORD).
    held = {path: vouched_for(path) for path in keep_set}
    removed = False
    for path in folder.iterdir():
        if path in keep_set or not path.is_dir():
            continue
        if path in valid or read_manifest(path) is None:
            shutil.rmtree(path, ignore_errors=True)
            removed = True
    for path, entries in held.items():
        if removed and entries:
            rekey(path, entries)


def rekey(version_dir: Path, held: dict[str, list]) -> None:
    """Write the version's hash record again after this process linked or unlinked names of its files.

    `held`: `vouched_for(version_dir)` as read before; entries whose file changed only its ctime stay.
    """
    _write_hash_record(version_dir, _rekeyed(version_dir, held))


@contextmanager
def build_lock(data_dir: str | Path):
    """One build at a time per data directory (a second one waits)."""
    root = index_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
