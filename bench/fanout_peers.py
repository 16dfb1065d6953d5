"""The probe fan-out's targets: local HTTP peers with fixed latencies and one that hangs.

Each healthy peer is its own HTTP server on 127.0.0.1 (a target per port, as real services
are), answering every request with 200 and a small health document after a fixed delay. The
hanging peer completes the TCP handshake, accepts the connection and then never reads or
writes: the worst case for a probe, which only its own timeout ends.

All of them run on threads of the benchmark process; the probes worker is another process.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
HEALTH_BODY = b'{"status": "ok"}'


@dataclass(frozen=True)
class Peer:
    name: str  # the catalog target's name
    url: str
    latency_ms: int | None  # None: the hanging peer

    @property
    def hangs(self) -> bool:
        return self.latency_ms is None


def _handler(latency_s: float) -> type[BaseHTTPRequestHandler]:
    class DelayedHealth(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(latency_s)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(HEALTH_BODY)))
            self.end_headers()
            self.wfile.write(HEALTH_BODY)

        def log_message(self, format, *args) -> None:
            pass  # one line per probe on stderr would drown the benchmark's own output

    return DelayedHealth


class HangingPeer:
    """Accepts TCP connections and holds them open without a byte in either direction."""

    def __init__(self) -> None:
        self._listener = socket.create_server((HOST, 0), backlog=64)
        self._listener.settimeout(0.2)  # so the accept loop notices stop()
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="hanging-peer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(connection)  # kept referenced, so it is not closed

    def release(self) -> None:
        """Close the connections held so far (the probes gave up on them long ago)."""
        held, self._held = self._held, []
        for connection in held:
            with contextlib.suppress(OSError):
                connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._listener.close()
        self.release()


class Peers:
    """Seven (or as many as latencies) healthy HTTP peers and one hanging peer."""

    def __init__(self, latencies_ms: tuple[int, ...]):
        self._servers = [
            ThreadingHTTPServer((HOST, 0), _handler(latency / 1000)) for latency in latencies_ms
        ]
        for server in self._servers:
            server.daemon_threads = True
        self._hanging = HangingPeer()
        self.peers = [
            Peer(f"peer-{latency}ms", f"http://{HOST}:{server.server_address[1]}/health", latency)
            for latency, server in zip(latencies_ms, self._servers, strict=True)
        ]
        self.peers.append(Peer("hang", f"http://{HOST}:{self._hanging.port}/health", None))
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
            )
            thread.start()
            self._threads.append(thread)
        self._hanging.start()

    def release_hung_connections(self) -> None:
        self._hanging.release()

    def stop(self) -> None:
        for server in self._servers:
            if self._threads:
                server.shutdown()
            server.server_close()
        self._hanging.stop()
