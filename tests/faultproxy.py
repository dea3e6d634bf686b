"""A small fault-injecting HTTP proxy on 127.0.0.1, in front of the hub's S3 port.

Every request is read whole (head, then a ``Content-Length`` or chunked body) and then,
by the first matching ``Rule``, passed through, answered with an error, left without an
answer, dropped, or forwarded with its answer withheld (the hub HAS stored the object:
the acknowledgement is lost). The request bytes go to the hub unchanged (SigV4 signs
them, including ``Host``); only unsigned hop-by-hop headers are rewritten:
``Connection: close`` (one request per connection, so the answer is everything until the
hub closes) and no ``Expect: 100-continue`` (the proxy says "continue" itself, having to
read the body before it decides anything).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

PASS = "pass"  # forward, relay the answer
ERROR = "error"  # answer ``status`` without forwarding
STALL = "stall"  # read the request, never forward or answer: the client times out
DROP = "drop"  # close the connection without answering, nothing forwarded
LOSE_ACK = "lose_ack"  # forward (the hub acts on it), then close without relaying
HOLD_ACK = "hold_ack"  # forward, then keep the answer back: the client times out
CUT_BODY = "cut_body"  # forward the head and half the body, then close both ends
ACTIONS = (PASS, ERROR, STALL, DROP, LOSE_ACK, HOLD_ACK, CUT_BODY)

ERROR_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
    b"<Message>injected by the fault proxy</Message></Error>"
)


@dataclass
class Rule:
    """What to do with requests whose method and target match: let ``skip`` of them
    through first, then act on the next ``times`` of them (``None``: on all)."""

    action: str
    method: str | None = None
    target: str | tuple[str, ...] | None = None  # substring(s) of the request target
    skip: int = 0
    times: int | None = 1
    status: int = 500
    code: str = "InternalError"
    then: Callable[[], None] | None = None  # run once the hub has had its part
    hits: int = 0

    def __post_init__(self) -> None:
        assert self.action in ACTIONS, self.action

    def matches(self, method: str, target: str) -> bool:
        return (self.method is None or self.method == method) and _within(self.target, target)


@dataclass
class Seen:
    method: str
    target: str
    action: str


class ProtocolError(Exception):
    pass


@dataclass
class FaultProxy:
    upstream_port: int
    rules: list[Rule] = field(default_factory=list)
    log: list[Seen] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True, name="fault-proxy")
        self._accept.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ programming

    def add(self, action: str, **match: object) -> Rule:
        rule = Rule(action, **match)  # type: ignore[arg-type]
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def actions(
        self, method: str | None = None, target: str | tuple[str, ...] | None = None
    ) -> list[str]:
        """The actions taken so far on matching requests, in order."""
        with self._lock:
            return [
                s.action
                for s in self.log
                if (method is None or s.method == method) and _within(target, s.target)
            ]

    def _decide(self, method: str, target: str) -> Rule | None:
        with self._lock:
            chosen = None
            for rule in self.rules:
                if not rule.matches(method, target):
                    continue
                rule.hits += 1
                if rule.hits <= rule.skip:
                    continue
                if rule.times is not None and rule.hits > rule.skip + rule.times:
                    continue
                chosen = rule
                break
            self.log.append(Seen(method, target, chosen.action if chosen else PASS))
            return chosen

    # ------------------------------------------------------------------ serving

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._handle, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._accept.join(5)
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _handle(self, client: socket.socket) -> None:
        try:
            with client:
                client.settimeout(10)
                self._one_request(client)
        except (OSError, ProtocolError):
            pass  # the client went away: nothing to relay to
        except BaseException as exc:  # pragma: no cover - surfaced by the tests
            self.errors.append(exc)

    def _one_request(self, client: socket.socket) -> None:
        reader = _Reader(client)
        head = reader.until(b"\r\n\r\n")
        if not head:
            return
        lines = head.split(b"\r\n")
        method, target, _ = lines[0].decode("latin-1").split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
        rule = self._decide(method, target)
        action = rule.action if rule else PASS
        if action == ERROR:
            assert rule is not None
            body = ERROR_BODY % rule.code.encode()
            client.sendall(
                b"HTTP/1.1 %d Injected\r\nContent-Type: application/xml\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                % (rule.status, len(body), body)
            )
            self._then(rule)
            return
        if headers.get("expect", "").lower() == "100-continue":
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = reader.body(headers)
        if action == STALL:
            self._wait_for_hangup(client)
            return
        if action == DROP:
            self._then(rule)
            return
        forwarded = _rewrite(lines)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
        except OSError:
            return  # the hub is gone: no answer (the client sees the connection close)
        with upstream:
            if action == CUT_BODY:
                upstream.sendall(forwarded + body[: len(body) // 2])
                self._then(rule)
                upstream.shutdown(socket.SHUT_RDWR)  # as a dropped connection would
                return
            upstream.sendall(forwarded + body)
            answer = _read_to_eof(upstream)
        self._then(rule)
        if action == PASS:
            client.sendall(answer)
        elif action == HOLD_ACK:
            self._wait_for_hangup(client)
        # LOSE_ACK: close without a word

    def _then(self, rule: Rule | None) -> None:
        if rule is not None and rule.then is not None:
            rule.then()

    def _wait_for_hangup(self, client: socket.socket) -> None:
        """Say nothing until the client gives up (or the proxy closes)."""
        client.settimeout(0.1)
        while not self._stop.is_set():
            try:
                if not client.recv(65536):
                    return
            except TimeoutError:
                continue


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ProtocolError("closed")
        self.buf += chunk

    def until(self, marker: bytes) -> bytes:
        while marker not in self.buf:
            try:
                self._more()
            except ProtocolError:
                if not self.buf:
                    return b""
                raise
        found, _, self.buf = self.buf.partition(marker)
        return found

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        found, self.buf = self.buf[:n], self.buf[n:]
        return found

    def body(self, headers: dict[str, str]) -> bytes:
        """The body as sent (chunked framing included)."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raw = b""
            while True:
                size_line = self.until(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                raw += size_line + b"\r\n"
                if size == 0:
                    while True:  # trailers, up to the empty line
                        trailer = self.until(b"\r\n")
                        raw += trailer + b"\r\n"
                        if not trailer:
                            return raw
                raw += self.exactly(size + 2)
        return self.exactly(int(headers.get("content-length", "0")))


def _within(wanted: str | tuple[str, ...] | None, target: str) -> bool:
    if wanted is None:
        return True
    return all(part in target for part in ((wanted,) if isinstance(wanted, str) else wanted))


def _rewrite(lines: list[bytes]) -> bytes:
    kept = [
        line
        for line in lines
        if line and not line.lower().startswith((b"connection:", b"expect:", b"keep-alive:"))
    ]
    return b"\r\n".join([*kept, b"Connection: close", b"", b""])


def _read_to_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data
