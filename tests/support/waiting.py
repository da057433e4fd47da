"""Waiting in tests for something another process does, bounded so a hang fails the test."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], limit_seconds: float = 120) -> bool:
    """Poll `condition` until it holds; False if it still does not after `limit_seconds` (a
    bound against hanging the suite, not a timing the test asserts)."""
    give_up = time.monotonic() + limit_seconds
    while not condition():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.05)
    return True
