"""Outbound HTTP to addresses users can configure, guarded against SSRF.

HTTP probe targets now, outbound webhooks and subscriber URLs later, take a URL someone typed
into the portal. Fetching it naively lets that someone make our workers call internal services
and the cloud metadata endpoint (Grafana OnCall's webhook SSRF). So every outbound call here:

- accepts only http/https URLs without credentials in them;
- resolves the host ONCE, checks every address it resolves to against the policy, and connects
  to the checked address (pinning), keeping the hostname for the Host header, TLS SNI and
  certificate verification — a DNS answer that changes between check and connect (DNS
  rebinding) cannot redirect the request;
- never follows redirects unless asked, and then re-checks every hop (at most N);
- ignores proxy environment variables (a proxy would resolve the name itself, unpinned);
- bounds everything: one time budget for DNS, connect, TLS and the body, and a body size cap.

Policy: private, loopback, link-local, multicast, reserved, unspecified and shared (CGNAT)
addresses, including IPv4 addresses embedded in IPv6 ones, are refused in production unless an
admin lists their range in `settings.OUTBOUND_ALLOWED_NETWORKS`. In development and tests they
are allowed (the demo probes the portal's own /health on 127.0.0.1). Cloud metadata addresses
are refused everywhere unless the allow-list names the address itself.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_USER_AGENT = "ops-portal"
MAX_REDIRECTS_LIMIT = 10

# Instance-metadata services that hand out cloud credentials: AWS/GCP/Azure/OpenStack (IPv4 and
# AWS's IPv6 one), AWS ECS task metadata, Alibaba Cloud.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # CGNAT, RFC 6598
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: IPv4 in the low 32 bits


class OutboundError(Exception):
    """An outbound call did not happen or failed; the message is short and safe to show."""


class OutboundRefused(OutboundError):
    """The policy refused the destination (scheme, credentials or address)."""


class OutboundUnreachable(OutboundError):
    """The destination could not be reached: DNS, connect, TLS, timeout or protocol error.

    `kind` is one of "dns", "refused", "timeout", "tls", "network", "protocol";
    `before_connect` is true when no connection was made (another address may still work).
    """

    def __init__(self, message: str, *, kind: str, before_connect: bool = False):
        super().__init__(message)
        self.kind = kind
        self.before_connect = before_connect


@dataclass(frozen=True)
class PinnedTarget:
    """A checked URL and the one address the request will connect to."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) hostname or IP literal, no brackets
    port: int
    address: str  # the checked IP the connection goes to
    path: str  # path and query, as sent
    addresses: tuple[str, ...] = ()  # every address the name resolved to (all were checked)

    @property
    def display(self) -> str:
        """host:port for messages: never the path or query, which may carry a token."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def host_header(self) -> str:
        return str(httpx.URL(self.url).netloc.decode("ascii"))

    @property
    def is_ip_literal(self) -> bool:
        return _parse_ip(self.host) is not None

    def request_url(self) -> httpx.URL:
        """The URL with the host replaced by the pinned address."""
        return httpx.URL(self.url).copy_with(host=self.address)


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


# --- policy -------------------------------------------------------------------------------


def private_allowed_by_default() -> bool:
    return getattr(settings, "DJANGO_ENV", "development") != "production"


def allowed_networks_from_settings() -> tuple[IPNetwork, ...]:
    return parse_networks(getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", None) or ())


def parse_networks(values: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"OUTBOUND_ALLOWED_NETWORKS: {value!r} is not an IP network (CIDR)"
            ) from exc
    return tuple(networks)


def refusal_reason(
    address: IPAddress, *, allow_private: bool, allowed_networks: Iterable[IPNetwork]
) -> str | None:
    """Why the policy refuses to connect to `address`, or None when it may."""
    effective = embedded_ipv4(address) or address
    networks = list(allowed_networks)
    if effective in METADATA_ADDRESSES:
        # A broad allow-listed range (169.254.0.0/16) must not open the credential endpoint by
        # accident: only an entry naming the address itself does.
        if any(net.num_addresses == 1 and effective in net for net in networks):
            return None
        return "a cloud metadata address"
    if any(effective in net or address in net for net in networks):
        return None
    if allow_private:
        return None
    return address_category(effective)


def address_category(address: IPAddress) -> str | None:
    """The special-purpose category of an address, or None for a public unicast address."""
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address in SHARED_ADDRESS_SPACE:
        return "a shared (CGNAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a non-global address"
    return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), if any.

    `::ffff:127.0.0.1` reaches 127.0.0.1 on a dual-stack host, so it must be judged as such.
    """
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


# --- resolution ---------------------------------------------------------------------------


def resolve_and_check(
    url: str,
    *,
    allow_private: bool | None = None,
    allowed_networks: Iterable[str | IPNetwork] | None = None,
    timeout_s: float = 5.0,
) -> PinnedTarget:
    """Parse `url`, resolve its host once and check every address against the policy.

    `allow_private=None` → allowed outside production; `allowed_networks=None` → the
    OUTBOUND_ALLOWED_NETWORKS setting. Raises OutboundRefused, or OutboundUnreachable when
    the name does not resolve within timeout_s.
    """
    if allow_private is None:
        allow_private = private_allowed_by_default()
    networks = (
        allowed_networks_from_settings()
        if allowed_networks is None
        else parse_networks(allowed_networks)
    )
    scheme, host, port, path = split_url(url)
    resolved = resolve(host, port, timeout_s=timeout_s)
    for address in resolved:
        reason = refusal_reason(address, allow_private=allow_private, allowed_networks=networks)
        if reason:
            raise OutboundRefused(
                f"refused by the outbound policy: {_shown(host, address)} is {reason}"
                + ("" if reason == "a cloud metadata address" else _allow_hint(address))
            )
    return PinnedTarget(
        url=url,
        scheme=scheme,
        host=host,
        port=port,
        # The resolver's first choice; every address passed the check, so none is a backdoor.
        address=str(resolved[0]),
        path=path,
        addresses=tuple(str(address) for address in resolved),
    )


def _shown(host: str, address: IPAddress) -> str:
    """The host as written, with the address it resolved to and any IPv4 address inside it."""
    shown = host if _parse_ip(host) is not None else f"{host} ({address})"
    embedded = embedded_ipv4(address)
    if embedded is not None and str(embedded) not in host:
        shown += f" (carrying {embedded})"
    return shown


def _allow_hint(address: IPAddress) -> str:
    address = embedded_ipv4(address) or address
    prefix = 32 if isinstance(address, ipaddress.IPv4Address) else 128
    return f"; an admin can allow it with OUTBOUND_ALLOWED_NETWORKS (e.g. {address}/{prefix})"


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, ASCII host, port, path+query) of an acceptable URL, or OutboundRefused."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise OutboundRefused(f"not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise OutboundRefused(f"only http and https URLs are allowed, not {parsed.scheme!r}")
    if parsed.userinfo:
        # Credentials in a URL end up in logs and error texts (ARCHITECTURE.md §9 secrets).
        raise OutboundRefused("credentials in the URL are not allowed")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise OutboundRefused("the URL has no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.scheme, host, port, parsed.raw_path.decode("ascii")


def resolve(host: str, port: int, *, timeout_s: float) -> list[IPAddress]:
    """Every address `host` resolves to (an IP literal resolves to itself), within timeout_s.

    `getaddrinfo` has no timeout of its own, so it runs in a daemon thread we stop waiting for.
    This also resolves numeric forms such as "2130706433" (= 127.0.0.1) that the policy must see.
    """
    literal = _parse_ip(host)
    if literal is not None:
        return [literal]
    box: dict[str, Any] = {}

    def lookup() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc

    thread = threading.Thread(target=lookup, name=f"resolve:{host}", daemon=True)
    thread.start()
    thread.join(max(timeout_s, 0.0))
    if thread.is_alive():
        raise OutboundUnreachable(
            f"timed out after {timeout_s:g}s resolving {host}", kind="timeout"
        )
    if "error" in box:
        error = box["error"]
        detail = error.strerror if isinstance(error, socket.gaierror) else str(error)
        raise OutboundUnreachable(f"DNS lookup of {host} failed: {detail}", kind="dns")
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in box["infos"]:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # drop an IPv6 zone
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundUnreachable(f"DNS lookup of {host} returned no address", kind="dns")
    return addresses


def _parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# --- fetching -----------------------------------------------------------------------------


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
        verify=verify, trust_env=False, follow_redirects=False, timeout=remaining
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


# --- certificates -------------------------------------------------------------------------


def certificate_not_after(der: bytes) -> datetime:
    """The notAfter time of a DER X.509 certificate (RFC 5280 §4.1), as an aware UTC datetime.

    A few lines of DER reading instead of a dependency: `getpeercert()` only decodes the
    certificate when it was verified, and the probe must report expiry with verification off.
    """
    certificate = _der_children(der, 0)
    tbs = _der_children(der, certificate[0][0])
    fields = tbs[1:] if der[tbs[0][0]] == 0xA0 else tbs  # [0] version is optional
    validity = _der_children(der, fields[3][0])
    not_after_offset, start, end = validity[1]
    return _der_time(der[not_after_offset], der[start:end].decode("ascii"))


def _der_children(der: bytes, offset: int) -> list[tuple[int, int, int]]:
    """(offset, content start, content end) of each element inside the TLV at `offset`."""
    _, start, end = _der_header(der, offset)
    children = []
    position = start
    while position < end:
        _, child_start, child_end = _der_header(der, position)
        children.append((position, child_start, child_end))
        position = child_end
    return children


def _der_header(der: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at `offset`."""
    tag = der[offset]
    length = der[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    end = start + length
    if end > len(der):
        raise ValueError("truncated DER")
    return tag, start, end


def _der_time(tag: int, text: str) -> datetime:
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ; RFC 5280: YY ≥ 50 means 19YY
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise ValueError(f"unexpected DER time tag {tag:#x}")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
