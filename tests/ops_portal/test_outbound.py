"""The SSRF guard for outbound HTTP: the address policy, pinning, redirects, bounds and TLS.

Policy tests use IP literals and `localhost` (from /etc/hosts), so they need no DNS server;
fetch tests talk to real servers on 127.0.0.1 (tests/diagnostics/peers/http_peers.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from ops_portal.outbound import (
    OutboundRefused,
    OutboundUnreachable,
    PinnedTarget,
    certificate_not_after,
    fetch,
    resolve_and_check,
)
from ops_portal.outbound.fetching import _Budget, _fetch_first_reachable
from tests.diagnostics.peers.http_peers import PeerServer, Reply, closed_port, issue_certificate


@pytest.fixture
def production(settings):
    settings.DJANGO_ENV = "production"
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    return settings


@pytest.fixture
def development(settings):
    settings.DJANGO_ENV = "development"
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    return settings


# --- the address policy ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://10.1.2.3:8080/health", "10.1.2.3 is a private address"),
        ("http://192.168.0.10/", "192.168.0.10 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is a loopback address"),
        ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254 is a cloud metadata"),
        ("http://[64:ff9b::a00:1]/", "64:ff9b::a00:1 (carrying 10.0.0.1) is a private address"),
        ("http://[2002:7f00:1::]/", "2002:7f00:1:: (carrying 127.0.0.1) is a loopback"),  # 6to4
        ("http://0.0.0.0/", "0.0.0.0 is the unspecified address"),
        ("http://[::]/", ":: is the unspecified address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://169.254.10.20/", "169.254.10.20 is a link-local address"),
        ("http://100.64.1.1/", "100.64.1.1 is a shared (CGNAT) address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
        ("http://localhost:8000/health", "localhost (127.0.0.1) is a loopback address"),
        ("http://2130706433/", "2130706433 (127.0.0.1) is a loopback address"),  # decimal form
    ],
)
def test_production_policy_refuses_internal_addresses(production, url, reason):
    with pytest.raises(OutboundRefused) as refused:
        resolve_and_check(url)

    assert reason in str(refused.value)
    assert str(refused.value).startswith("refused by the outbound policy: ")


def test_refusal_tells_the_admin_how_to_allow_the_address(production):
    with pytest.raises(OutboundRefused) as refused:
        resolve_and_check("http://10.1.2.3/")

    assert str(refused.value) == (
        "refused by the outbound policy: 10.1.2.3 is a private address; an admin can allow it "
        "with OUTBOUND_ALLOWED_NETWORKS (e.g. 10.1.2.3/32)"
    )


def test_production_policy_accepts_a_public_address_and_pins_it(production):
    target = resolve_and_check("https://[2606:4700::1111]:8443/status?verbose=1")

    assert target.scheme == "https"
    assert target.host == "2606:4700::1111"
    assert target.port == 8443
    assert target.address == "2606:4700::1111"
    assert target.path == "/status?verbose=1"
    assert target.display == "[2606:4700::1111]:8443"
    assert str(target.request_url()) == "https://[2606:4700::1111]:8443/status?verbose=1"


def test_an_allow_listed_network_is_accepted_in_production(production):
    production.OUTBOUND_ALLOWED_NETWORKS = ["10.0.0.0/8", "fd12:3456::/32"]

    assert resolve_and_check("http://10.20.30.40:9000/health").address == "10.20.30.40"
    assert resolve_and_check("http://[fd12:3456::7]/").address == "fd12:3456::7"
    with pytest.raises(OutboundRefused, match=re.escape("192.168.1.1 is a private address")):
        resolve_and_check("http://192.168.1.1/")


def test_the_allowed_networks_argument_overrides_the_setting(production):
    production.OUTBOUND_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    target = resolve_and_check("http://127.0.0.1:8000/health", allowed_networks=["127.0.0.1/32"])
    assert target.address == "127.0.0.1"
    with pytest.raises(OutboundRefused, match=re.escape("10.1.1.1 is a private address")):
        resolve_and_check("http://10.1.1.1/", allowed_networks=[])


def test_development_allows_private_addresses_but_never_metadata(development):
    assert resolve_and_check("http://localhost:8000/health").address == "127.0.0.1"
    assert resolve_and_check("http://10.1.2.3/").address == "10.1.2.3"
    with pytest.raises(
        OutboundRefused, match=re.escape("169.254.169.254 is a cloud metadata address")
    ):
        resolve_and_check("http://169.254.169.254/latest/meta-data/")


def test_metadata_needs_the_address_itself_in_the_allow_list(production):
    production.OUTBOUND_ALLOWED_NETWORKS = ["169.254.0.0/16"]
    assert resolve_and_check("http://169.254.10.20/").address == "169.254.10.20"
    with pytest.raises(OutboundRefused, match=re.escape("cloud metadata address")):
        resolve_and_check("http://169.254.169.254/")

    production.OUTBOUND_ALLOWED_NETWORKS = ["169.254.169.254/32"]
    assert resolve_and_check("http://169.254.169.254/").address == "169.254.169.254"


def test_explicit_allow_private_overrides_the_environment_default(development):
    with pytest.raises(OutboundRefused, match=re.escape("loopback")):
        resolve_and_check("http://127.0.0.1/", allow_private=False)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/file", "file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO"]
)
def test_only_http_and_https_are_allowed(development, url):
    with pytest.raises(OutboundRefused, match=re.escape("only http and https URLs are allowed")):
        resolve_and_check(url)


def test_credentials_in_the_url_are_refused_without_echoing_them(development):
    with pytest.raises(OutboundRefused) as refused:
        resolve_and_check("http://admin:hunter2@127.0.0.1/")

    assert str(refused.value) == "credentials in the URL are not allowed"


def test_an_invalid_allow_list_entry_fails_loudly(production):
    production.OUTBOUND_ALLOWED_NETWORKS = ["10.0.0.0/33"]

    with pytest.raises(ImproperlyConfigured, match=re.escape("'10.0.0.0/33' is not an IP network")):
        resolve_and_check("http://10.1.2.3/")


def test_an_unresolvable_name_is_unreachable_not_refused(development):
    with pytest.raises(OutboundUnreachable) as unreachable:
        resolve_and_check("http://nonexistent.invalid/", timeout_s=5)

    assert str(unreachable.value).startswith("DNS lookup of nonexistent.invalid ")


# --- fetching -------------------------------------------------------------------------------


def test_fetch_connects_to_the_pinned_address_with_the_original_host_header(development):
    with PeerServer({"/echo": Reply(200, "hello")}) as peer:
        result = fetch(peer.url("/echo", host="localhost"))

    assert result.status_code == 200
    assert result.body == b"hello"
    assert result.target.address == "127.0.0.1"
    assert peer.requests[0].headers["host"] == f"localhost:{peer.port}"
    assert peer.requests[0].headers["user-agent"] == "ops-portal"


def test_fetch_falls_back_to_the_next_checked_address_when_one_refuses(development):
    # As for a name with an AAAA and an A record on a host without IPv6: the peer listens on
    # 127.0.0.1 only, so the same port on 127.0.0.2 refuses the connection.
    with PeerServer({"/": Reply(200, "second address")}) as peer:
        target = PinnedTarget(
            url=peer.url("/", host="localhost"),
            scheme="http",
            host="localhost",
            port=peer.port,
            address="127.0.0.2",
            path="/",
            addresses=("127.0.0.2", "127.0.0.1"),
        )
        result = _fetch_first_reachable(
            target,
            method="GET",
            headers={},
            content=None,
            budget=_Budget(5),
            verify=True,
            max_bytes=1000,
        )

    assert result.body == b"second address"
    assert result.target.address == "127.0.0.1"
    assert peer.requests[0].headers["host"] == f"localhost:{peer.port}"


def test_fetch_in_production_reaches_an_allow_listed_address(production):
    production.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with PeerServer({"/health": Reply(200, {"status": "ok"})}) as peer:
        result = fetch(peer.url("/health"))

    assert result.status_code == 200
    assert result.content_type == "application/json"


def test_fetch_ignores_proxy_environment_variables(development, monkeypatch):
    with closed_port() as dead_proxy, PeerServer({"/": Reply(200, "direct")}) as peer:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{dead_proxy}")
        result = fetch(peer.url("/"))

    assert result.body == b"direct"


def test_a_redirect_is_returned_not_followed_by_default(development):
    routes = {"/old": Reply(302, headers={"Location": "/new"}), "/new": Reply(200, "moved")}
    with PeerServer(routes) as peer:
        result = fetch(peer.url("/old"))

    assert result.status_code == 302
    assert result.redirect_location == "/new"
    assert result.redirects == []
    assert [seen.path for seen in peer.requests] == ["/old"]


def test_redirects_are_followed_only_up_to_the_limit_asked(development):
    routes = {
        "/a": Reply(301, headers={"Location": "/b"}),
        "/b": Reply(302, headers={"Location": "/c"}),
        "/c": Reply(200, "arrived"),
    }
    with PeerServer(routes) as peer:
        followed = fetch(peer.url("/a"), max_redirects=2)
        stopped = fetch(peer.url("/a"), max_redirects=1)

    assert followed.status_code == 200
    assert followed.body == b"arrived"
    assert followed.redirects == [peer.url("/b"), peer.url("/c")]
    assert stopped.status_code == 302
    assert stopped.redirects == [peer.url("/b")]


def test_every_redirect_hop_is_checked_against_the_policy(production):
    production.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with PeerServer({"/": Reply(302)}) as peer:
        peer.routes["/"] = Reply(302, headers={"Location": f"http://127.0.0.2:{peer.port}/"})
        with pytest.raises(OutboundRefused, match=re.escape("127.0.0.2 is a loopback address")):
            fetch(peer.url("/"), max_redirects=3)

    assert [seen.path for seen in peer.requests] == ["/"]


def test_credentials_are_not_replayed_to_another_origin(development):
    with PeerServer({"/": Reply(200, "second")}) as second:
        routes = {"/": Reply(302, headers={"Location": second.url("/", host="localhost")})}
        with PeerServer(routes) as first:
            fetch(first.url("/"), headers={"Authorization": "Bearer abc"}, max_redirects=1)

    assert first.requests[0].headers["authorization"] == "Bearer abc"
    assert "authorization" not in second.requests[0].headers


def test_the_body_is_cut_at_the_size_cap(development):
    with PeerServer({"/big": Reply(200, b"x" * 1_000_000)}) as peer:
        result = fetch(peer.url("/big"), max_bytes=1000)

    assert result.body == b"x" * 1000
    assert result.truncated is True


def test_a_compressed_body_is_decompressed_only_up_to_the_cap(development):
    with PeerServer({"/bomb": Reply(200, b"\0" * 10_000_000, gzip=True)}) as peer:
        result = fetch(peer.url("/bomb"), max_bytes=1000)

    assert result.body == b"\0" * 1000
    assert result.truncated is True
    assert peer.requests[0].headers["accept-encoding"] == "identity"


def test_a_slow_server_times_out_within_the_budget(development):
    with (
        PeerServer({"/slow": Reply(200, "late", delay_s=10)}) as peer,
        pytest.raises(OutboundUnreachable) as unreachable,
    ):
        fetch(peer.url("/slow"), timeout_s=0.3)

    assert unreachable.value.kind == "timeout"
    assert str(unreachable.value) == f"timed out after 0.3s waiting for 127.0.0.1:{peer.port}"


def test_a_closed_port_is_connection_refused(development):
    with closed_port() as port, pytest.raises(OutboundUnreachable) as unreachable:
        fetch(f"http://127.0.0.1:{port}/health", timeout_s=2)

    assert unreachable.value.kind == "refused"
    assert str(unreachable.value) == f"connection refused: 127.0.0.1:{port}"


# --- TLS ------------------------------------------------------------------------------------


def test_tls_verifies_the_hostname_and_sends_sni_while_connecting_to_the_pinned_ip(
    development, tmp_path
):
    issued = issue_certificate(tmp_path, dns_names=("localhost",))
    with PeerServer({"/": Reply(200, "secure")}, tls=issued.server_context()) as peer:
        result = fetch(peer.url("/", host="localhost"), verify=issued.client_context())

    assert result.body == b"secure"
    assert result.target.address == "127.0.0.1"
    assert peer.sni_names == ["localhost"]
    assert result.tls.not_after == issued.not_after
    assert result.tls.version in ("TLSv1.2", "TLSv1.3")


def test_a_certificate_for_another_name_is_rejected(development, tmp_path):
    issued = issue_certificate(tmp_path, dns_names=("other.test",))
    with (
        PeerServer({"/": Reply(200)}, tls=issued.server_context()) as peer,
        pytest.raises(OutboundUnreachable) as unreachable,
    ):
        fetch(peer.url("/", host="localhost"), verify=issued.client_context())

    assert unreachable.value.kind == "tls"
    assert str(unreachable.value).startswith(f"TLS certificate rejected by localhost:{peer.port}")
    assert "Hostname mismatch" in str(unreachable.value)


def test_an_untrusted_certificate_is_rejected_unless_verification_is_off(development, tmp_path):
    issued = issue_certificate(tmp_path, dns_names=("localhost",))
    with PeerServer({"/": Reply(200, "ok")}, tls=issued.server_context()) as peer:
        with pytest.raises(OutboundUnreachable) as unreachable:
            fetch(peer.url("/", host="localhost"))
        unverified = fetch(peer.url("/"), verify=False)

    assert unreachable.value.kind == "tls"
    assert "unable to get local issuer certificate" in str(unreachable.value)
    assert unverified.body == b"ok"
    assert unverified.tls.not_after == issued.not_after  # expiry is read without verification


@pytest.mark.parametrize(
    "not_after",
    [
        datetime(2031, 5, 17, 8, 30, 15, tzinfo=UTC),  # encoded as UTCTime
        datetime(2051, 1, 2, 3, 4, 5, tzinfo=UTC),  # from 2050 on: GeneralizedTime
        datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),
    ],
)
def test_certificate_expiry_is_read_from_der(tmp_path, not_after):
    issued = issue_certificate(tmp_path, not_after=not_after)

    assert certificate_not_after(issued.der) == not_after


def test_an_expired_certificate_is_read_too(tmp_path):
    expired = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    issued = issue_certificate(tmp_path, not_after=expired)

    assert certificate_not_after(issued.der) == expired
