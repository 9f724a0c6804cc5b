"""A keep-alive HTTP connection with a cookie jar, like one visitor's browser, and a free port:
the load of the benchmarks (tests/bench) and the soak (tests/soak) on a server on 127.0.0.1."""

from __future__ import annotations

import http.client
import socket


class Browser:
    def __init__(self, port: int, headers: dict | None = None, cookies: dict | None = None, timeout: float = 60):
        self.port, self.timeout = port, timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.cookies: dict[str, str] = dict(cookies or {})
        self.headers = headers or {}

    def reconnect(self) -> None:
        self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str = "") -> tuple[int, bytes]:
        headers = {**self.headers, "Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type:
            headers["Content-Type"] = content_type
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _sep, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a server to start, or to stay closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
