"""Downloads from outside, treated as untrusted: size caps, retries, pacing, same-host redirects.

A `SourceClient` downloads one source's files into the fetch's staging folder, streaming each
answer to disk while counting its bytes against the source's cap. It retries only timeouts,
429 and 5xx (urllib3's `Retry` through a requests `Session`, honouring Retry-After, waiting
with an injectable sleep); a failed connection is not retried. Redirects are followed only
within the host of the address asked for. The SEC's hosts are paced to at most N requests a
second (`RequestPacer`, on pyrate-limiter, with an injectable clock). Every problem raises a
`SourceFailure` naming the source, the address and what went wrong.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from pyrate_limiter import Duration, InMemoryBucket, Rate, RateItem
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    IncompleteRead,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from helpers.fetch.arrival_checks import describe_error_body
from helpers.fetch.sources_file import Retries, Timeouts

_RETRIED_STATUSES = frozenset({429, *range(500, 600)})
_CHUNK_BYTES = 64 * 1024
_ERROR_BODY_BYTES = 64 * 1024  # read of a refused answer's body, to say what it was
_MAX_REDIRECTS = 5


class SourceFailure(Exception):
    """A source's answer never came or was refused: the source, the address, what went wrong.

    `unreachable` is True when no connection could be made at all (no network, a wrong host).
    """

    def __init__(self, source: str, address: str, problem: str, *, unreachable: bool = False):
        self.source = source
        self.address = address
        self.problem = problem
        self.unreachable = unreachable
        super().__init__(f"{source}: {address}: {problem}")


@dataclass(frozen=True)
class Download:
    """A body as it arrived, written to `path`, with what the manifest records of it."""

    address: str
    path: Path
    http_status: int
    bytes: int
    sha256: str


class RequestPacer:
    """At most `per_second` requests in any second (a sliding window, pyrate-limiter's bucket):
    `wait_for_turn` before each request. The clock (seconds, monotonic) and the sleep are
    injectable, so that tests never wait."""

    def __init__(
        self,
        per_second: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._bucket = InMemoryBucket([Rate(per_second, Duration.SECOND)])
        self._clock = clock
        self._sleep = sleep

    def wait_for_turn(self) -> None:
        """Return when a request may be sent, having slept as long as the limit requires."""
        while True:
            request = RateItem("request", round(self._clock() * 1000))
            if self._bucket.put(request):
                return
            self._sleep(max(self._bucket.waiting(request), 1) / 1000)


class _WaitingRetry(Retry):
    """urllib3's Retry, waiting through an injectable sleep (and the source's pacer) instead of
    time.sleep; only 429 and 5xx count as statuses to retry, with or without Retry-After."""

    RETRY_AFTER_STATUS_CODES = _RETRIED_STATUSES

    def __init__(
        self,
        *args,
        sleep: Callable[[float], None] = time.sleep,
        pacer: RequestPacer | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.wait = sleep
        self.pacer = pacer

    def new(self, **kwargs) -> _WaitingRetry:
        """The next retry state, keeping the sleep and the pacer."""
        retry = super().new(**kwargs)
        retry.wait, retry.pacer = self.wait, self.pacer
        return retry

    def sleep(self, response=None) -> None:
        """Wait before the next try: the server's Retry-After (capped), else the backoff."""
        seconds = None
        if self.respect_retry_after_header and response is not None:
            seconds = self.get_retry_after(response)
        if not seconds:
            seconds = self.get_backoff_time()
        if seconds > 0:
            self.wait(seconds)
        if self.pacer is not None:
            self.pacer.wait_for_turn()


class SourceClient:
    """Downloads of one source: its User-Agent, timeouts, retries, size cap and pacing."""

    def __init__(
        self,
        source: str,
        user_agent: str,
        max_bytes: int,
        timeouts: Timeouts,
        retries: Retries,
        *,
        pacer: RequestPacer | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.source = source
        self.max_bytes = max_bytes
        self.retries = retries.attempts
        self._timeout = (timeouts.connect_seconds, timeouts.read_seconds)
        self._pacer = pacer
        retry = _WaitingRetry(
            total=retries.attempts,
            connect=0,  # a connection that fails (refused, unknown host) is not retried
            read=retries.attempts,
            status=retries.attempts,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=_RETRIED_STATUSES,
            backoff_factor=retries.backoff_seconds,
            backoff_max=retries.max_wait_seconds,
            retry_after_max=retries.max_wait_seconds,
            raise_on_status=False,
            raise_on_redirect=False,
            sleep=sleep,
            pacer=pacer,
        )
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        """Close the connections."""
        self.session.close()

    def download(self, address: str, target: Path) -> Download:
        """GET `address` into the file `target`; raises SourceFailure unless the answer is a
        200 whose body, within the size cap, arrived whole."""
        response = self._get_following_own_redirects(address)
        with response:
            if response.status_code != 200:
                head = response.raw.read(_ERROR_BODY_BYTES, decode_content=True) or b""
                raise self.failure(address, _describe_status(response, head, self.retries))
            announced = response.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > self.max_bytes:
                raise self.failure(address, self._too_large(f"announced as {int(announced):,}"))
            digest = hashlib.sha256()
            size = 0
            try:
                with target.open("wb") as body:
                    for chunk in response.iter_content(_CHUNK_BYTES):
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise self.failure(address, self._too_large("more"))
                        digest.update(chunk)
                        body.write(chunk)
            except requests.RequestException as error:
                target.unlink(missing_ok=True)
                raise self.failure(address, _describe_broken_body(error, size, announced)) from None
            except SourceFailure:
                target.unlink(missing_ok=True)
                raise
        return Download(address, target, response.status_code, size, digest.hexdigest())

    def failure(self, address: str, problem: str, *, unreachable: bool = False) -> SourceFailure:
        """A SourceFailure of this source."""
        return SourceFailure(self.source, address, problem, unreachable=unreachable)

    def _too_large(self, how_many: str) -> str:
        return (
            f"the answer is larger than this source's cap ({how_many} than "
            f"max_bytes = {self.max_bytes:,} bytes); refused"
        )

    def _get_following_own_redirects(self, address: str) -> requests.Response:
        """The answer to GET `address`, following redirects only within its own host."""
        own_host = urlsplit(address).hostname
        url = address
        for _ in range(_MAX_REDIRECTS + 1):
            if self._pacer is not None:
                self._pacer.wait_for_turn()
            try:
                response = self.session.get(
                    url, stream=True, allow_redirects=False, timeout=self._timeout
                )
            except requests.RequestException as error:
                unreachable = _is_connection_failure(error)
                raise self.failure(
                    address, _describe_request_error(error, self.retries), unreachable=unreachable
                ) from None
            if not response.is_redirect:
                return response
            target = urljoin(url, response.headers["Location"])
            response.close()
            target_host = urlsplit(target).hostname
            if target_host != own_host:
                raise self.failure(
                    address,
                    f"redirected from {own_host} to another host, {target_host} ({target});"
                    f" refused: only redirects within {own_host} are followed",
                )
            url = target
        raise self.failure(address, f"more than {_MAX_REDIRECTS} redirects; refused")


def _describe_status(response: requests.Response, head: bytes, retries: int) -> str:
    """Why an answer that is not a 200 was refused, with what its body looks like."""
    status = f"HTTP {response.status_code} {response.reason or ''}".strip()
    if response.status_code in _RETRIED_STATUSES:
        status += f" (still after {retries} retries)"
    elif response.status_code == 406:
        status += " (some servers refuse certain User-Agents: see user_agent in fetch.yaml)"
    return f"{status}; {describe_error_body(head)}"


def _reason(error: BaseException) -> BaseException:
    """The urllib3 error under a requests error (what actually went wrong)."""
    seen = error
    while seen.args and isinstance(seen.args[0], BaseException):
        seen = seen.args[0]
        if isinstance(seen, MaxRetryError) and seen.reason is not None:
            return seen.reason
    return seen


def _is_connection_failure(error: requests.RequestException) -> bool:
    """Whether no connection could be made (refused, unknown host, connection timeout)."""
    return isinstance(error, requests.ConnectTimeout) or isinstance(
        _reason(error), NewConnectionError
    )


def _describe_request_error(error: requests.RequestException, retries: int) -> str:
    reason = _reason(error)
    if isinstance(error, requests.ConnectTimeout):
        return "could not connect: the connection timed out"
    if isinstance(reason, NewConnectionError):
        detail = str(reason).split(": ", 1)[-1]
        return f"could not connect ({detail})"
    if isinstance(reason, ReadTimeoutError) or isinstance(error, requests.ReadTimeout):
        return f"no answer in time (timed out, also after {retries} retries)"
    return f"the request failed ({type(reason).__name__}: {reason})"


def _describe_broken_body(error: requests.RequestException, size: int, announced: str) -> str:
    reason = _reason(error)
    if isinstance(reason, ReadTimeoutError) or isinstance(error, requests.Timeout):
        return f"the answer stopped coming (timed out after {size:,} bytes)"
    cut = _incomplete_read(error)
    if cut is not None or isinstance(error, requests.exceptions.ChunkedEncodingError):
        partial = cut.partial if cut is not None else 0
        arrived = size + (len(partial) if isinstance(partial, bytes) else partial)
        expected = f" of the {int(announced):,} announced" if announced.isdigit() else ""
        return f"the answer was cut short: {arrived:,} bytes arrived{expected}; nothing kept"
    return f"the answer broke off after {size:,} bytes ({type(reason).__name__}: {reason})"


def _incomplete_read(error: BaseException) -> IncompleteRead | None:
    """The IncompleteRead somewhere in `error`'s arguments (urllib3 nests it in a
    ProtocolError, which requests nests in its own error)."""
    pending = [error]
    while pending:
        seen = pending.pop()
        if isinstance(seen, IncompleteRead):
            return seen
        pending += [arg for arg in seen.args if isinstance(arg, BaseException)]
    return None
