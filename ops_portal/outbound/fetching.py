"""Guarded HTTP requests: connect to the checked address only, within one time and size budget.

`fetch` checks the URL with the policy, then connects to the pinned address while keeping the
hostname for the Host header, TLS SNI and certificate verification — a DNS answer that changes
between check and connect (DNS rebinding) cannot redirect the request. It follows redirects
only when asked, re-checking every hop; ignores proxy environment variables (a proxy would
resolve the name itself, unpinned); and bounds DNS, connect, TLS and the body by one deadline,
the body also by a size cap.
"""

from __future__ import annotations

import functools
import ssl
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import httpx

from .certificates import certificate_not_after
from .errors import OutboundRefused, OutboundUnreachable
from .policy import IPNetwork, PinnedTarget, resolve_and_check, split_url

DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_USER_AGENT = "ops-portal"
MAX_REDIRECTS_LIMIT = 10


@dataclass(frozen=True)
class TlsInfo:
    version: str | None
    cipher: str | None
    not_after: datetime | None  # the peer certificate's expiry (UTC)


@dataclass
class FetchResult:
    target: PinnedTarget  # the last hop
    status_code: int
    reason: str
    http_version: str
    headers: httpx.Headers
    body: bytes
    truncated: bool  # the body was longer than max_bytes and was cut
    elapsed_ms: float  # DNS + connect + TLS + response, all hops
    tls: TlsInfo | None = None
    redirects: list[str] = field(default_factory=list)  # URLs followed, in order

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def redirect_location(self) -> str | None:
        """The Location of a redirect response that was not followed."""
        if 300 <= self.status_code < 400:
            return self.headers.get("location")
        return None

    def text(self) -> str:
        content_type = self.content_type
        encoding = "utf-8"
        if "charset=" in content_type:
            encoding = content_type.split("charset=", 1)[1].split(";", 1)[0].strip(' "')
            encoding = encoding or "utf-8"
        try:
            return self.body.decode(encoding, errors="replace")
        except LookupError:  # an unknown charset name
            return self.body.decode("utf-8", errors="replace")


class _Budget:
    """One deadline shared by every step of a fetch (all hops)."""

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self.started = time.monotonic()
        self.deadline = self.started + timeout_s

    def remaining(self, doing: str = "") -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.timed_out(doing)
        return left

    def timed_out(self, doing: str = "") -> OutboundUnreachable:
        """The timeout error, naming the whole budget (not what was left of it)."""
        suffix = f" {doing}" if doing else ""
        return OutboundUnreachable(f"timed out after {self.timeout_s:g}s{suffix}", kind="timeout")

    def elapsed_ms(self) -> float:
        return round((time.monotonic() - self.started) * 1000, 1)


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    timeout_s: float = 5.0,
    verify: bool | ssl.SSLContext = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = 0,
    allow_private: bool | None = None,
    allowed_networks: Iterable[str | IPNetwork] | None = None,
) -> FetchResult:
    """Make one guarded request; follow at most `max_redirects` redirects, re-checking each.

    With the default `max_redirects=0` a redirect is returned as it is (`redirect_location`).
    Raises OutboundRefused or OutboundUnreachable; any HTTP status is a result, not an error.
    """
    if not 0 <= max_redirects <= MAX_REDIRECTS_LIMIT:
        raise ValueError(f"max_redirects must be between 0 and {MAX_REDIRECTS_LIMIT}")
    budget = _Budget(timeout_s)
    request_headers = dict(headers or {})
    followed: list[str] = []
    current = url
    while True:
        host = split_url(current)[1]
        try:
            target = resolve_and_check(
                current,
                allow_private=allow_private,
                allowed_networks=allowed_networks,
                timeout_s=budget.remaining(f"resolving {host}"),
            )
        except OutboundUnreachable as exc:
            if exc.kind == "timeout":
                raise budget.timed_out(f"resolving {host}") from exc
            raise
        result = _fetch_first_reachable(
            target,
            method=method,
            headers=request_headers,
            content=content,
            budget=budget,
            verify=verify,
            max_bytes=max_bytes,
        )
        location = result.redirect_location
        if location is None or len(followed) >= max_redirects:
            result.redirects = followed
            return result
        try:
            next_url = str(httpx.URL(current).join(location))
        except httpx.InvalidURL as exc:
            raise OutboundRefused("the redirect Location is not a valid URL") from exc
        if result.status_code == 303 or (result.status_code in (301, 302) and method == "POST"):
            method, content = "GET", None  # what browsers and RFC 9110 §15.4 do
        if _origin(next_url) != _origin(current):
            # Credentials meant for one origin must not be replayed to another.
            request_headers = {
                key: value
                for key, value in request_headers.items()
                if key.lower() not in ("authorization", "cookie")
            }
        followed.append(next_url)
        current = next_url


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


def _fetch_first_reachable(target: PinnedTarget, **kwargs: Any) -> FetchResult:
    """Try the checked addresses in the resolver's order until one accepts the connection.

    A name with an AAAA and an A record on a host without IPv6 must still work, as it does
    for any client; every address was checked, so falling back never leaves the policy.
    """
    addresses = target.addresses or (target.address,)
    for address in addresses[:-1]:
        try:
            return _fetch_pinned(replace(target, address=address), **kwargs)
        except OutboundUnreachable as exc:
            if not exc.before_connect:
                raise
    return _fetch_pinned(replace(target, address=addresses[-1]), **kwargs)


@functools.cache
def _shared_context(verify: bool) -> ssl.SSLContext:
    """One SSL context per process and mode, shared by every request and thread.

    Building a verifying context loads the whole CA bundle: 30 to 50 ms of CPU each time. Made per
    request, that cost landed inside each probe's latency figure and time budget, and parallel
    probes queued for it (bench/probe_fanout.py saw 800 ms answers reported as 1,100 ms).
    SSLContext is safe to share between threads once configured.
    """
    if verify:
        return httpx.create_ssl_context(verify=True)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _ssl_context(verify: bool | ssl.SSLContext) -> ssl.SSLContext:
    return verify if isinstance(verify, ssl.SSLContext) else _shared_context(bool(verify))


def _fetch_pinned(
    target: PinnedTarget,
    *,
    method: str,
    headers: dict[str, str],
    content: bytes | None,
    budget: _Budget,
    verify: bool | ssl.SSLContext,
    max_bytes: int,
) -> FetchResult:
    request_headers = {
        "User-Agent": DEFAULT_USER_AGENT,
        # Compressed bodies would be decompressed beyond our size cap by the client; ask for none.
        "Accept-Encoding": "identity",
        **{key: value for key, value in headers.items() if key.lower() != "host"},
        "Host": target.host_header,
    }
    extensions = {} if target.is_ip_literal else {"sni_hostname": target.host}
    remaining = budget.remaining(f"connecting to {target.display}")
    # trust_env=False: HTTP(S)_PROXY would send the request to a proxy that resolves the
    # name itself, undoing the pinning; follow_redirects=False: hops are re-checked above.
    with httpx.Client(
        verify=_ssl_context(verify), trust_env=False, follow_redirects=False, timeout=remaining
    ) as client:
        try:
            with client.stream(
                method,
                target.request_url(),
                headers=request_headers,
                content=content,
                extensions=extensions,
            ) as response:
                tls = _tls_info(response) if target.scheme == "https" else None
                body, truncated = _read_body(
                    response, budget=budget, max_bytes=max_bytes, where=target.display
                )
        except httpx.HTTPError as exc:
            raise _unreachable(exc, target=target, budget=budget) from exc
    return FetchResult(
        target=target,
        status_code=response.status_code,
        reason=response.reason_phrase,
        http_version=response.http_version,
        headers=response.headers,
        body=body,
        truncated=truncated,
        elapsed_ms=budget.elapsed_ms(),
        tls=tls,
    )


def _read_body(
    response: httpx.Response, *, budget: _Budget, max_bytes: int, where: str
) -> tuple[bytes, bool]:
    """At most max_bytes of the (decoded) body; stop reading there and close the connection."""
    chunks: list[bytes] = []
    size = 0
    cut = False
    for chunk in response.iter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            cut = True
            break
        budget.remaining(f"reading the body from {where}")  # a trickle must not outlive it
    body = b"".join(chunks)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        body = _decompress_bounded(body, encoding, max_bytes)
    return body[:max_bytes], cut or len(body) > max_bytes


def _decompress_bounded(raw: bytes, encoding: str, max_bytes: int) -> bytes:
    """Decompress at most max_bytes + 1 bytes, so a small bomb cannot fill memory."""
    wbits = 47 if encoding in ("gzip", "x-gzip") else 15  # 47: gzip or zlib header, auto
    try:
        return zlib.decompressobj(wbits).decompress(raw, max_bytes + 1)
    except zlib.error:
        if encoding == "deflate":  # some servers send raw deflate without the zlib header
            try:
                return zlib.decompressobj(-15).decompress(raw, max_bytes + 1)
            except zlib.error:
                pass
        return raw


def _tls_info(response: httpx.Response) -> TlsInfo | None:
    """Protocol, cipher and certificate expiry of the connection the response came on.

    Read while the response is open: the connection, and its SSL object, go away after close.
    """
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    # The DER form is there even when verification is off (the dict form is then empty).
    der = ssl_object.getpeercert(True)
    cipher = ssl_object.cipher()
    return TlsInfo(
        version=ssl_object.version(),
        cipher=cipher[0] if cipher else None,
        not_after=certificate_not_after(der) if der else None,
    )


def _unreachable(
    exc: httpx.HTTPError, *, target: PinnedTarget, budget: _Budget
) -> OutboundUnreachable:
    where = target.display
    if isinstance(exc, httpx.TimeoutException):
        phase = "connecting to" if isinstance(exc, httpx.ConnectTimeout) else "waiting for"
        return budget.timed_out(f"{phase} {where}")
    cause = _root_cause(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        detail = cause.verify_message or cause.reason or "certificate verify failed"
        return OutboundUnreachable(f"TLS certificate rejected by {where}: {detail}", kind="tls")
    if isinstance(cause, ssl.SSLError):
        detail = cause.reason or str(cause)
        return OutboundUnreachable(f"TLS handshake with {where} failed: {detail}", kind="tls")
    if isinstance(cause, ConnectionRefusedError):
        return OutboundUnreachable(
            f"connection refused: {where}", kind="refused", before_connect=True
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.DecodingError):
        return OutboundUnreachable(f"protocol error from {where}: {exc}", kind="protocol")
    if isinstance(cause, OSError) and cause.strerror:
        return OutboundUnreachable(
            f"{cause.strerror.lower()}: {where}",
            kind="network",
            before_connect=isinstance(exc, httpx.ConnectError),  # e.g. network unreachable
        )
    return OutboundUnreachable(
        f"network error with {where}: {exc or type(exc).__name__}", kind="network"
    )


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while exc.__cause__ is not None or exc.__context__ is not None:
        if id(exc) in seen:
            break
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc
