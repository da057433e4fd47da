"""A stand-in for the fund-data sources: an HTTP server on 127.0.0.1 with scripted answers.

Each path (with its query string) is given a sequence of `Answer`s: the n-th request of that path
gets the n-th answer, and the last one repeats. An answer is a status, a body and headers, or a
redirect, a body cut short (fewer bytes than its Content-Length), a body of unannounced length,
or no answer at all until the server stops (the client's read timeout is what ends it). Every
request is recorded (path and headers), so tests can count retries and read the User-Agent sent.
Unknown paths get 404.
"""

from __future__ import annotations

import http.server
import socket
import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    """One scripted answer."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    redirect_to: str = ""  # a 302 to this address
    cut_after: int | None = None  # send only this many bytes of the body, then close
    hang: bool = False  # answer nothing until the server stops
    unannounced: bool = False  # no Content-Length: the body ends when the connection closes


@dataclass(frozen=True)
class Request:
    """A request the server received."""

    path: str
    headers: dict[str, str]


class SourceServer:
    """The server (a context manager): `script` paths, point addresses at `url(path)`."""

    def __init__(self):
        self.requests: list[Request] = []
        self._scripts: dict[str, list[Answer]] = {}
        self._served: dict[str, int] = {}
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (the name http.server calls)
                server._answer(self)

            def log_message(self, format, *args):  # quiet
                pass

        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.port = self._http.server_port
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> SourceServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=10)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """The address of `path` on this server (under another name for the host if given)."""
        return f"http://{host}:{self.port}{path}"

    def script(self, path: str, *answers: Answer) -> None:
        """Answer the requests of `path` (with its query string) with `answers`, in order."""
        with self._lock:
            self._scripts[path] = list(answers)
            self._served[path] = 0

    def serve(self, path: str, body: bytes, **headers: str) -> None:
        """Answer every request of `path` with 200 and `body`."""
        self.script(path, Answer(body, headers=headers))

    def scripted_answer(self, path: str) -> Answer:
        """The first answer scripted for `path`."""
        return self._scripts[path][0]

    def requests_of(self, path: str) -> list[Request]:
        """The requests received for `path`."""
        return [request for request in self.requests if request.path == path]

    def _next_answer(self, path: str) -> Answer | None:
        with self._lock:
            answers = self._scripts.get(path)
            if not answers:
                return None
            number = self._served[path]
            self._served[path] = number + 1
            return answers[min(number, len(answers) - 1)]

    def _answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        self.requests.append(Request(handler.path, dict(handler.headers)))
        answer = self._next_answer(handler.path)
        if answer is None:
            answer = Answer(b"not found", status=404)
        if answer.hang:
            self._stopping.wait(timeout=30)
            handler.close_connection = True
            return
        if answer.redirect_to:
            handler.send_response(302)
            handler.send_header("Location", answer.redirect_to)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(answer.status)
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        if answer.unannounced:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        else:
            handler.send_header("Content-Length", str(len(answer.body)))
        handler.end_headers()
        sent = answer.body if answer.cut_after is None else answer.body[: answer.cut_after]
        try:
            handler.wfile.write(sent)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        if answer.cut_after is not None:
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (a connection to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
