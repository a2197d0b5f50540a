"""A small threaded HTTP server for the fake providers: each fake answers requests in `answer`."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# A forced "status" that answers nothing at all.
HANG_UP = 0


class Request:
    """What a fake received: method, path (with query), headers and the raw body."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class LocalServer:
    """Serves on a free local port; `forced` answers (status, JSON) are given before the real ones."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.forced: list[tuple[int, Any]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = Request("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with fake._lock:
                    fake.requests.append(request)
                    forced = fake.forced.pop(0) if fake.forced else None
                    status, answer = forced or fake.answer(request)
                if status == HANG_UP:
                    return  # the connection closes with no answer, as when a server dies mid-call
                payload = b"" if answer is None else json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                if payload:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, request: Request) -> tuple[int, Any]:
        raise NotImplementedError

    def force(self, status: int, answer: Any = None) -> None:
        """The next request gets this answer, whatever it asks (HANG_UP: none at all)."""
        self.forced.append((status, answer))

    def __enter__(self) -> Self:
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
