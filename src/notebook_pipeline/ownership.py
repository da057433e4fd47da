"""Folders owned by a live process: an OS lock on `<folder>.owner` that the owner holds for the
folder's whole life, so that clean-up never deletes what a live run, sweep or task works in.

The lock is an OS file lock (filelock: fcntl on Unix): it dies with its process, so the folders
of a killed process are free at once, and a clean-up that takes the lock without waiting knows
that no one owns the folder any more.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import filelock

OWNER_SUFFIX = ".owner"


def owner_lock_file(folder: Path) -> Path:
    """The lock file beside `folder` that its owner holds."""
    return folder.with_name(folder.name + OWNER_SUFFIX)


def own_folder(folder: Path) -> filelock.BaseFileLock:
    """Take ownership of `folder` (made here if missing) for as long as the returned lock is
    held: release it (`.release()`) when the folder is gone."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(owner_lock_file(folder), timeout=0, is_singleton=False)
    lock.acquire()
    folder.mkdir(exist_ok=True)
    return lock


def release_folder(folder: Path, lock: filelock.BaseFileLock) -> None:
    """Delete an owned `folder` and its owner file, then let go of the lock."""
    shutil.rmtree(folder, ignore_errors=True)
    owner_lock_file(folder).unlink(missing_ok=True)
    lock.release()


def delete_if_unowned(folder: Path, owner: Path | None = None) -> bool:
    """Delete `folder` unless a live process owns it (its lock `owner`, by default
    `<folder>.owner`, is held); returns whether it was deleted. A folder without an owner file
    belongs to no one (an earlier version's, or a killed process's that had not taken one)."""
    owner = owner or owner_lock_file(folder)
    lock = filelock.FileLock(owner, timeout=0, is_singleton=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        return False
    try:
        shutil.rmtree(folder, ignore_errors=True)
        if owner == owner_lock_file(folder):
            owner.unlink(missing_ok=True)
    finally:
        lock.release()
    return True
