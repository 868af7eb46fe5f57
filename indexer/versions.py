"""Index versions on disk: one folder per build, a CURRENT pointer switched atomically.

A version is complete once its manifest.json exists (written last). Readers
follow CURRENT; if it points to a broken version they fall back to the newest
complete one, so a build killed half-way never leaves the service without an index.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path

MANIFEST = "manifest.json"


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
    """The manifest of a version, or None when the version is incomplete or corrupt."""
    try:
        manifest = json.loads((version_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    files = manifest.get("files", [])
    if not all((version_dir / name).exists() for name in files):
        return None
    return manifest


def write_manifest(version_dir: Path, manifest: dict) -> None:
    """Write the manifest last, atomically: it is what makes the version valid."""
    tmp = version_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    _fsync(tmp)
    os.replace(tmp, version_dir / MANIFEST)


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
    """The version to serve: CURRENT if valid, else the newest valid one; raises NoIndex if none."""
    root = index_root(data_dir)
    try:
        name = (root / "CURRENT").read_text().strip()
        candidate = root / "versions" / name
        if name and read_manifest(candidate) is not None:
            return candidate
    except OSError:
        pass
    versions = complete_versions(data_dir)
    if not versions:
        raise NoIndex(f"no index in {root}: run `kb index` first")
    return versions[-1]


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
    for path in folder.iterdir():
        if path in keep_set or not path.is_dir():
            continue
        if path in valid or read_manifest(path) is None:
            shutil.rmtree(path, ignore_errors=True)


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
