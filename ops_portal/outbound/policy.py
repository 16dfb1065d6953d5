"""The outbound address policy: which URLs and addresses a call may go to, checked once.

`resolve_and_check` accepts only http/https URLs without credentials, resolves the host once
(with a timeout of its own making: `getaddrinfo` has none) and checks every address against the
policy; the `PinnedTarget` it returns names the checked address the request must connect to.

Private, loopback, link-local, multicast, reserved, unspecified and shared (CGNAT) addresses,
including IPv4 addresses embedded in IPv6 ones, are refused in production unless an admin lists
their range in `settings.OUTBOUND_ALLOWED_NETWORKS`. In development and tests they are allowed
(the demo probes the portal's own /health on 127.0.0.1). Cloud metadata addresses are refused
everywhere unless the allow-list names the address itself.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .errors import OutboundRefused, OutboundUnreachable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance-metadata services that hand out cloud credentials: AWS/GCP/Azure/OpenStack (IPv4 and
# AWS's IPv6 one), AWS ECS task metadata, Alibaba Cloud.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # CGNAT, RFC 6598
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: IPv4 in the low 32 bits


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
