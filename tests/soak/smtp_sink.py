"""An SMTP server on 127.0.0.1 that accepts every message, keeps its Message-ID and discards the
rest: the soak counts what really left the portal, duplicates included."""

from __future__ import annotations

import re
import socketserver
import threading
from collections import Counter

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


class _Session(socketserver.StreamRequestHandler):
    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self._reply("220 soak sink")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                self._reply("250 soak sink")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self._reply("250 OK")
            elif verb == b"DATA":
                self._reply("354 end with .")
                body = b"".join(iter(lambda: self.rfile.readline(), b".\r\n"))
                match = MESSAGE_ID.search(body)
                self.server.sink.received(match.group(1).decode() if match else "")
                self._reply("250 queued")
            elif verb == b"QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SmtpSink:
    def __init__(self):
        self.messages: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Session)
        self._server.sink = self
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def received(self, message_id: str) -> None:
        with self._lock:
            self.messages[message_id] += 1

    @property
    def total(self) -> int:
        return sum(self.messages.values())

    @property
    def duplicated(self) -> int:
        return sum(count - 1 for count in self.messages.values() if count > 1)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
