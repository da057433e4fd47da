"""Folders owned by a live process: an OS lock on `<folder>.owner` that the owner holds for the
folder's whole life, so that clean-up never deletes what a live run, sweep or task works in.

The lock is an OS file lock (filelock: fcntl on Unix): it dies with its process, so the folders
of a killed process are free at once, and a clean-up that takes the lock without waiting knows
that no one owns the folder any more.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import filelock

OWNER_SUFFIX = ".owner"


def owner_lock_file(folder: Path) -> Path:
    """The lock file beside `folder` that its owner holds."""
    return folder.with_name(folder.name + OWNER_SUFFIX)


# A clean-up holds an owner file's lock for a moment to learn whether anyone owns it; a process
# taking a new folder at that moment waits this long for it (it never waits for a live owner:
# new folders have new names).
CLEAN_UP_LOOK_SECONDS = 10


def own_folder(folder: Path) -> filelock.BaseFileLock:
    """Take ownership of `folder` (made here if missing) for as long as the returned lock is
    held: release it (`.release()`) when the folder is gone."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(
        owner_lock_file(folder), timeout=CLEAN_UP_LOOK_SECONDS, is_singleton=False
    )
    lock.acquire()
    folder.mkdir(exist_ok=True)
    return lock


def release_folder(folder: Path, lock: filelock.BaseFileLock) -> None:
    """Delete an owned `folder` and its owner file, then let go of the lock."""
    shutil.rmtree(folder, ignore_errors=True)
    owner_lock_file(folder).unlink(missing_ok=True)
    lock.release()


def delete_if_unowned(owned: list[Path], owner: Path) -> bool:
    """Delete the folders (or files) `owned` and their owner file `owner` unless a live process
    holds that lock; returns whether they were deleted. An owner file left without its folder
    (its process killed between the two) goes too; folders without an owner file belong to no
    one (an earlier version's)."""
    lock = filelock.FileLock(owner, timeout=0, is_singleton=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        return False
    try:
        for path in owned:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        # Unlinked while held: a process that opened it meanwhile sees an unlinked file and
        # tries again (filelock), so no two processes ever hold it at once.
        owner.unlink(missing_ok=True)
    finally:
        lock.release()
    return True


def delete_unowned(entries: Iterable[Path], owner_of: Callable[[str], str] = str) -> None:
    """Delete those of `entries` (folders and their owner files, in one parent folder) that no
    live process owns. `owner_of(name)` names the folder whose owner file owns the entry `name`
    (itself by default; a run's report folder belongs to its staging project's owner)."""
    groups: dict[Path, list[Path]] = {}
    for entry in entries:
        name = owner_of(entry.name.removesuffix(OWNER_SUFFIX))
        owner = entry.with_name(name + OWNER_SUFFIX)
        groups.setdefault(owner, [])
        if entry != owner:
            groups[owner].append(entry)
    for owner, owned in groups.items():
        delete_if_unowned(owned, owner)
