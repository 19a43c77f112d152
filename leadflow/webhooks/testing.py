"""A webhook receiver for tests: a real HTTP server on localhost, in a thread, that checks each
request's signature with `leadflow.webhooks.signing.verify` — as a customer's would."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from leadflow.webhooks.signing import verify


@dataclass
class Received:
    delivery_id: str
    event: str
    timestamp: str
    signature: str
    body: bytes
    valid: bool

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """Keeps every POST it gets and answers `status` (200 unless told otherwise).

    Before `start`, its port is bound but not listening: connections are refused, as by a
    receiver that is down, and no other program can take the port meanwhile."""

    def __init__(self, secret: str = "") -> None:
        self._socket = _bound_socket(0)
        self.port = self._socket.getsockname()[1]
        self.secret = secret
        self.status = 200
        self.delay = 0.0  # seconds before answering: a slow receiver
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/leadflow"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                timestamp = self.headers.get("Leadflow-Timestamp", "")
                signature = self.headers.get("Leadflow-Signature", "")
                with receiver._lock:
                    receiver.requests.append(
                        Received(
                            delivery_id=self.headers.get("Leadflow-Delivery", ""),
                            event=self.headers.get("Leadflow-Event", ""),
                            timestamp=timestamp,
                            signature=signature,
                            body=body,
                            valid=verify(receiver.secret, timestamp, body, signature),
                        )
                    )
                    status = receiver.status
                if receiver.delay:
                    time.sleep(receiver.delay)
                answer = b'{"ok": true}' if status < 300 else b"busy, try later"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format, *args):  # no request lines in the test output
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler, bind_and_activate=False)
        self._server.socket.close()
        self._server.socket = self._socket or _bound_socket(self.port)
        self._socket = None
        self._server.server_activate()  # listen
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def delivery_ids(self) -> list[str]:
        return [r.delivery_id for r in self.received()]


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # leadflow hung up first (its timeout): expected when a test makes the receiver slow.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _bound_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock
