"""Real HTTP(S) servers on 127.0.0.1 for the HTTP probe and the outbound (SSRF guard) tests.

`PeerServer` answers scripted routes from a thread and records every request it got (method,
path, headers) and, over TLS, the SNI name the client sent. `issue_certificate` makes a small
CA and a server certificate with a chosen expiry (via `cryptography`), so TLS verification and
the days-to-expiry report are checked against a real handshake. `closed_port` gives a port that
refuses connections.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # wait before answering (cut short when the server closes)
    gzip: bool = False

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        body = self.body
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        if self.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return body, headers


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


Route = Reply | Callable[[Seen], Reply]


class PeerServer:
    """`with PeerServer({"/health": Reply(...)}) as peer: peer.url("/health")`."""

    def __init__(self, routes: dict[str, Route], *, tls: ssl.SSLContext | None = None):
        self.routes = routes
        self.requests: list[Seen] = []
        self.sni_names: list[str | None] = []
        self.release = threading.Event()
        self._tls = tls
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._server.handle_error = lambda request, address: None  # failed handshakes: expected
        if tls is not None:
            tls.sni_callback = self._record_sni
            # Handshake in the request thread, not in the accept loop.
            self._server.socket = tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/", *, host: str = "127.0.0.1") -> str:
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> PeerServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release.set()  # slow handlers stop waiting
        self._server.shutdown()
        self._server.server_close()

    def _record_sni(self, ssl_socket, server_name, context) -> None:
        self.sni_names.append(server_name)

    def _answer(self, seen: Seen) -> Reply:
        self.requests.append(seen)
        route = self.routes.get(seen.path.split("?", 1)[0])
        if route is None:
            return Reply(404, "not found")
        return route(seen) if callable(route) else route

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self) -> None:
                seen = Seen(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}
                )
                reply = peer._answer(seen)
                if reply.delay_s:
                    peer.release.wait(reply.delay_s)
                body, headers = reply.encoded()
                try:
                    self.send_response(reply.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    pass  # the client gave up (timeout, size cap): what some tests do

            do_GET = do_HEAD = do_POST = handle_one

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def closed_port() -> Iterator[int]:
    """A local port bound but not listening: connecting to it is refused, with no race."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@dataclass
class IssuedCertificate:
    cert_file: Path
    key_file: Path
    ca_file: Path
    not_after: datetime
    der: bytes  # the server certificate, DER-encoded

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only our test CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def issue_certificate(
    folder: Path,
    *,
    dns_names: tuple[str, ...] = ("localhost",),
    ip_addresses: tuple[str, ...] = (),
    not_after: datetime | None = None,
) -> IssuedCertificate:
    """A test CA and a server certificate it signed, written as PEM files into `folder`."""
    now = datetime.now(UTC).replace(microsecond=0)
    not_after = not_after or now + timedelta(days=90)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ops-portal test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=400))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(now - timedelta(days=1), not_after - timedelta(days=1)))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    files = IssuedCertificate(
        cert_file=folder / "server.pem",
        key_file=folder / "server.key",
        ca_file=folder / "ca.pem",
        not_after=cert.not_valid_after_utc,
        der=cert.public_bytes(serialization.Encoding.DER),
    )
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return files
