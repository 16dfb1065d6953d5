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

`policy` holds the address checks and the resolution, `fetching` the pinned requests,
`certificates` the certificate-expiry reader and `errors` the two failures callers handle.
Callers import from this package.
"""

from .certificates import certificate_not_after
from .errors import OutboundError, OutboundRefused, OutboundUnreachable
from .fetching import (
    DEFAULT_MAX_BYTES,
    DEFAULT_USER_AGENT,
    MAX_REDIRECTS_LIMIT,
    FetchResult,
    TlsInfo,
    fetch,
)
from .policy import (
    METADATA_ADDRESSES,
    IPAddress,
    IPNetwork,
    PinnedTarget,
    address_category,
    allowed_networks_from_settings,
    embedded_ipv4,
    parse_networks,
    private_allowed_by_default,
    refusal_reason,
    resolve,
    resolve_and_check,
    split_url,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_USER_AGENT",
    "MAX_REDIRECTS_LIMIT",
    "METADATA_ADDRESSES",
    "FetchResult",
    "IPAddress",
    "IPNetwork",
    "OutboundError",
    "OutboundRefused",
    "OutboundUnreachable",
    "PinnedTarget",
    "TlsInfo",
    "address_category",
    "allowed_networks_from_settings",
    "certificate_not_after",
    "embedded_ipv4",
    "fetch",
    "parse_networks",
    "private_allowed_by_default",
    "refusal_reason",
    "resolve",
    "resolve_and_check",
    "split_url",
]
