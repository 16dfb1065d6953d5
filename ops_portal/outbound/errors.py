"""The two ways an outbound call fails: the policy refused it, or the destination is unreachable.

Callers (the HTTP probe today) show the message as it is, so messages are kept short and are
built from the host and port rather than the whole URL.
"""

from __future__ import annotations


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
