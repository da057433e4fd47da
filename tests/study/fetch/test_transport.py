"""Downloads from outside: pacing, retries, redirects, size caps and broken answers, against a
server on 127.0.0.1; no test waits on the wall clock but for the one read timeout."""

from __future__ import annotations

import hashlib

import pytest
from source_server import Answer, SourceServer, closed_port

from helpers.fetch.sources_file import Retries, Timeouts
from helpers.fetch.transport import RequestPacer, SourceClient, SourceFailure


class FakeTime:
    """A monotonic clock that moves only when slept on."""

    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def server():
    with SourceServer() as running:
        yield running


def client(time: FakeTime, max_bytes: int = 10_000, read_seconds: float = 5, **kwargs):
    return SourceClient(
        "test_source",
        "tests",
        max_bytes,
        Timeouts(connect_seconds=5, read_seconds=read_seconds),
        Retries(attempts=2, backoff_seconds=1, max_wait_seconds=30),
        sleep=time.sleep,
        **kwargs,
    )


def test_the_pacer_lets_at_most_n_requests_through_in_any_second():
    time = FakeTime()
    pacer = RequestPacer(10, time.clock, time.sleep)

    sent = []
    for _ in range(35):
        pacer.wait_for_turn()
        sent.append(time.now)

    assert max(sum(start <= t < start + 1 for t in sent) for start in sent) == 10
    assert sent[9] == 0.0 and sent[10] >= 1.0 and sent[-1] < 4.0


def test_a_download_is_written_with_its_digest_and_size(server, tmp_path):
    server.serve("/file", b"x" * 5000)

    download = client(FakeTime()).download(server.url("/file"), tmp_path / "file")

    assert download.path.read_bytes() == b"x" * 5000
    assert (download.bytes, download.http_status) == (5000, 200)
    assert download.sha256 == hashlib.sha256(b"x" * 5000).hexdigest()


def test_429_and_5xx_are_retried_honouring_retry_after(server, tmp_path):
    server.script(
        "/file",
        Answer(b"busy", status=429, headers={"Retry-After": "12"}),
        Answer(b"oops", status=503),
        Answer(b"the file"),
    )
    time = FakeTime()

    download = client(time).download(server.url("/file"), tmp_path / "file")

    assert download.path.read_bytes() == b"the file"
    assert time.slept == [12.0, 2.0]  # Retry-After, then the backoff of the second retry


def test_other_statuses_are_not_retried_and_say_what_came(server, tmp_path):
    server.script("/file", Answer(b"<html><body>Not acceptable</body></html>", status=406))

    with pytest.raises(SourceFailure) as failed:
        client(FakeTime()).download(server.url("/file"), tmp_path / "file")

    assert len(server.requests_of("/file")) == 1
    assert "HTTP 406" in failed.value.problem and "User-Agent" in failed.value.problem
    assert "an HTML page" in failed.value.problem
    assert not (tmp_path / "file").exists()


def test_a_read_timeout_is_retried_then_named(server, tmp_path):
    server.script("/file", Answer(hang=True))

    with pytest.raises(SourceFailure, match="no answer in time") as failed:
        client(FakeTime(), read_seconds=0.2).download(server.url("/file"), tmp_path / "file")

    assert len(server.requests_of("/file")) == 3
    assert not failed.value.unreachable


def test_a_refused_connection_is_not_retried_and_marked_unreachable(tmp_path):
    address = f"http://127.0.0.1:{closed_port()}/file"

    with pytest.raises(SourceFailure, match="could not connect") as failed:
        client(FakeTime()).download(address, tmp_path / "file")

    assert failed.value.unreachable and failed.value.address == address


def test_redirects_are_followed_within_the_host_only(server, tmp_path):
    server.script("/old", Answer(redirect_to="/new"))
    server.serve("/new", b"moved here")
    server.script("/away", Answer(redirect_to=server.url("/new", host="localhost")))
    fetcher = client(FakeTime())

    assert fetcher.download(server.url("/old"), tmp_path / "a").path.read_bytes() == b"moved here"
    with pytest.raises(SourceFailure) as refused:
        fetcher.download(server.url("/away"), tmp_path / "b")
    assert "from 127.0.0.1 to another host, localhost" in refused.value.problem
    assert not server.requests_of("/new")[1:]  # the other host was never asked


def test_the_size_cap_holds_whether_the_size_is_announced_or_not(server, tmp_path):
    server.serve("/announced", b"x" * 20_000)
    server.script("/streamed", Answer(b"y" * 200_000, unannounced=True))
    fetcher = client(FakeTime(), max_bytes=10_000)

    with pytest.raises(SourceFailure, match="announced as 20,000"):
        fetcher.download(server.url("/announced"), tmp_path / "a")
    with pytest.raises(SourceFailure, match="more than max_bytes = 10,000"):
        fetcher.download(server.url("/streamed"), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_body_cut_short_is_refused_and_removed(server, tmp_path):
    server.script("/file", Answer(b"z" * 3000, cut_after=1000))

    with pytest.raises(SourceFailure, match="cut short: 1,000 bytes arrived of the 3,000"):
        client(FakeTime()).download(server.url("/file"), tmp_path / "file")
    assert not (tmp_path / "file").exists()
