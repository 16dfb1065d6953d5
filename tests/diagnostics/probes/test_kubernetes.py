"""Kubernetes probes against the fake API server, through the real client's kubeconfig path.

Every test reads the `checkout` scenario of `tests/diagnostics/peers/kube_scenario.py` (a
stalled rollout with a CrashLoopBackOff pod, an OOMKilled pod and a healthy old pod) or a
variation of it made by editing `kube_api.state`, and asserts both what the probe understood
and what it sent. Every request the fake recorded must be a GET: probes are read-only.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from kubernetes import client as k8s
from rest_framework import serializers

from catalog.models import Target
from catalog.target_configs import validate_target_config
from diagnostics.probes import registry
from diagnostics.probes.base import ProbeConfigError, ProbeUnreachable
from diagnostics.probes.kubernetes import parse_quantity, selector_matches, selector_string
from diagnostics.probes.kubernetes.quantities import mebibytes, millicores
from diagnostics.runner import run_probe
from tests.diagnostics.peers.kube_api import FakeKubeApi
from tests.diagnostics.peers.kube_scenario import (
    CART_POD,
    CRASHLOOP_POD,
    DELETED_POD,
    HEALTHY_POD,
    NEW_RS,
    OLD_RS,
    OOMKILLED_POD,
    ts,
)

NEW_IMAGE = "registry.example.com/shop/checkout:1.5.0"
OLD_IMAGE = "registry.example.com/shop/checkout:1.4.2"


@pytest.fixture
def kube_api():
    with FakeKubeApi() as api:
        yield api
    assert {r.method for r in api.requests} <= {"GET"}, "a probe sent a non-GET request"


@pytest.fixture
def kubeconfig(kube_api, tmp_path):
    return kube_api.write_kubeconfig(tmp_path)


@pytest.fixture
def make_target(kubeconfig):
    """A checkout target reached through the kubeconfig's `fake` context; None drops a key."""

    def make(**changes):
        config = {
            "namespace": "shop",
            "deployment": "checkout",
            "service": "checkout",
            "connection": "kubeconfig",
            "kubeconfig_path": str(kubeconfig),
            "context": "fake",
            **changes,
        }
        config = {key: value for key, value in config.items() if value is not None}
        return Target(
            kind="kubernetes", name="checkout", config=validate_target_config("kubernetes", config)
        )

    return make


def run(name: str, target: Target, params: dict | None = None, timeout_s: float = 5):
    probe = registry.get(name)
    return probe.run(target, probe.validate_params(params or {}), timeout_s)


def rows(result, table: str) -> list[dict]:
    found = next(t for t in result.tables if t.name == table)
    return [dict(zip(found.columns, row, strict=True)) for row in found.rows]


def table_of(result, table: str):
    return next(t for t in result.tables if t.name == table)


def checks(result) -> dict[str, tuple]:
    return {c.name: (c.value, c.status) for c in result.checks}


def item(api: FakeKubeApi, resource: str, name: str) -> dict:
    return next(i for i in api.state[resource] if i["metadata"]["name"] == name)


# --- quantities and selectors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100m", Decimal("0.1")),
        ("1", Decimal(1)),
        ("250Mi", Decimal(250 * 2**20)),
        ("1Gi", Decimal(2**30)),
        ("0.5Gi", Decimal(2**29)),
        ("123456Ki", Decimal(123456 * 1024)),
        ("5n", Decimal("5e-9")),
        ("1500u", Decimal("0.0015")),
        ("480123456n", Decimal("0.480123456")),
        ("2k", Decimal(2000)),
        ("1M", Decimal(10**6)),
        ("1e3", Decimal(1000)),
        ("1E", Decimal(10**18)),
        ("1.5", Decimal("1.5")),
        (".5", Decimal("0.5")),
        ("-100m", Decimal("-0.1")),
        (2, Decimal(2)),
    ],
)
def test_parse_quantity_understands_the_api_grammar(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(
    "text", ["", "abc", "1mi", "1KB", "Mi", "1e", "1.2.3", "1 Gi", "--1", "1" * 80]
)
def test_parse_quantity_rejects_what_is_not_a_quantity(text):
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity(text)


def test_cpu_and_memory_units_for_tables():
    assert millicores("480123456n") == 480.1
    assert millicores("1") == 1000.0
    assert mebibytes("262144Ki") == 256.0
    assert mebibytes("1Gi") == 1024.0
    assert millicores(None) is None


def selector(match_labels=None, *expressions):
    return k8s.V1LabelSelector(
        match_labels=match_labels,
        match_expressions=[
            k8s.V1LabelSelectorRequirement(key=key, operator=operator, values=values)
            for key, operator, values in expressions
        ]
        or None,
    )


@pytest.mark.parametrize(
    ("label_selector", "selected"),
    [
        (selector(), True),  # an empty selector selects every pod
        (None, True),
        (selector({"app": "checkout"}), True),
        (selector({"app": "cart"}), False),
        (selector(None, ("tier", "In", ["backend", "db"])), True),
        (selector(None, ("tier", "In", ["frontend"])), False),
        (selector(None, ("app", "NotIn", ["cart"])), True),
        (selector(None, ("app", "NotIn", ["checkout"])), False),
        (selector(None, ("missing", "NotIn", ["x"])), True),
        (selector(None, ("tier", "Exists", None)), True),
        (selector(None, ("canary", "Exists", None)), False),
        (selector(None, ("canary", "DoesNotExist", None)), True),
        (selector({"app": "checkout"}, ("tier", "DoesNotExist", None)), False),
        (selector(None, ("tier", "Gt", ["1"])), False),
    ],
)
def test_selector_matches_labels(label_selector, selected):
    assert selector_matches(label_selector, {"app": "checkout", "tier": "backend"}) is selected


def test_selector_string_is_the_api_query_form():
    assert (
        selector_string(
            selector(
                {"tier": "backend", "app": "checkout"},
                ("track", "In", ["stable", "canary"]),
                ("legacy", "NotIn", ["yes"]),
                ("team", "Exists", None),
                ("debug", "DoesNotExist", None),
            )
        )
        == "app=checkout,tier=backend,track in (stable,canary),legacy notin (yes),team,!debug"
    )
    assert selector_string(selector()) == ""


# --- registration and connection ---------------------------------------------------------------


def test_the_seven_probes_are_registered_for_kubernetes_targets():
    names = {p.name for p in registry.for_kind("kubernetes")}
    assert names == {
        "kubernetes.pods",
        "kubernetes.rollout",
        "kubernetes.endpoints",
        "kubernetes.events",
        "kubernetes.resources",
        "kubernetes.network_policies",
        "kubernetes.logs",
    }
    assert {p.name for p in registry.health_probes("kubernetes")} == {
        "kubernetes.pods",
        "kubernetes.rollout",
    }


def test_every_probe_only_reads_and_authenticates_with_the_kubeconfig_token(kube_api, make_target):
    target = make_target()
    for probe in registry.for_kind("kubernetes"):
        run(probe.name, target)
    assert {r.method for r in kube_api.requests} == {"GET"}
    assert {r.authorization for r in kube_api.requests} == {"Bearer test-token"}
    assert {r.path for r in kube_api.requests} == {
        "/apis/apps/v1/namespaces/shop/deployments/checkout",
        "/api/v1/namespaces/shop/pods",
        "/apis/apps/v1/namespaces/shop/replicasets",
        "/api/v1/namespaces/shop/endpoints/checkout",
        "/api/v1/namespaces/shop/events",
        "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods",
        "/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies",
        f"/api/v1/namespaces/shop/pods/{HEALTHY_POD}/log",
        f"/api/v1/namespaces/shop/pods/{CRASHLOOP_POD}/log",
        f"/api/v1/namespaces/shop/pods/{OOMKILLED_POD}/log",
    }
    lists = [r for r in kube_api.requests if not r.path.endswith(("/checkout", "/log"))]
    assert {r.param("limit") for r in lists} == {"500"}


def test_the_library_default_configuration_is_left_alone(make_target):
    run("kubernetes.pods", make_target())
    assert k8s.Configuration.get_default_copy().host == "http://localhost"


def test_the_kubeconfig_current_context_is_not_used_when_the_target_names_one(
    kube_api, make_target
):
    # The kubeconfig's current context points at a closed port: only `context: fake` works.
    assert run("kubernetes.endpoints", make_target()).status == "warning"
    with pytest.raises(ProbeUnreachable, match=r"^connection refused: 127\.0\.0\.1:\d+$"):
        run("kubernetes.endpoints", make_target(context=None))


def test_connection_refused_is_unreachable_and_the_runner_reports_an_error(make_target):
    target = make_target(context="closed")
    with pytest.raises(ProbeUnreachable, match=r"^connection refused: 127\.0\.0\.1:\d+$"):
        run("kubernetes.pods", target)
    outcome = run_probe("kubernetes.pods", target, {}, timeout_s=5)
    assert outcome.status == "error"
    assert outcome.error.startswith("connection refused: 127.0.0.1:")


def test_a_missing_kubeconfig_is_a_config_error(make_target, tmp_path):
    with pytest.raises(ProbeConfigError, match="cannot load Kubernetes credentials"):
        run("kubernetes.pods", make_target(kubeconfig_path=str(tmp_path / "nope")))


def test_in_cluster_outside_a_cluster_is_a_config_error(monkeypatch):
    # The environment, not the client: in a pod this variable would make it a real cluster.
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    config = validate_target_config("kubernetes", {"namespace": "shop", "deployment": "checkout"})
    with pytest.raises(ProbeConfigError, match="cannot load Kubernetes credentials"):
        run("kubernetes.pods", Target(kind="kubernetes", name="x", config=config))


def test_forbidden_pods_are_unreachable_with_what_was_refused(kube_api, make_target):
    kube_api.fail("pods", 403)
    with pytest.raises(ProbeUnreachable) as raised:
        run("kubernetes.pods", make_target())
    assert str(raised.value) == "forbidden: the service account may not list pods in shop"


def test_forbidden_deployment_names_the_verb(kube_api, make_target):
    kube_api.fail("deployments", 403)
    with pytest.raises(ProbeUnreachable) as raised:
        run("kubernetes.rollout", make_target())
    assert str(raised.value) == "forbidden: the service account may not get deployments in shop"


def test_rejected_credentials_are_unreachable(kube_api, make_target):
    kube_api.fail("deployments", 401)
    with pytest.raises(ProbeUnreachable) as raised:
        run("kubernetes.pods", make_target())
    assert str(raised.value).startswith("unauthorized: the API server at 127.0.0.1:")


def test_a_server_error_is_unreachable_with_the_api_message(kube_api, make_target):
    kube_api.fail("events", 500)
    with pytest.raises(ProbeUnreachable) as raised:
        run("kubernetes.events", make_target())
    assert str(raised.value) == (
        "Kubernetes API answered 500 to list events: Internal error occurred: etcdserver: request timed out"
    )


# --- kubernetes.pods ---------------------------------------------------------------------------


def test_pods_reports_crashloop_oomkill_and_the_healthy_pod(kube_api, make_target):
    result = run("kubernetes.pods", make_target())

    assert result.status == "critical"
    assert (
        result.summary
        == "1 of 3 pods ready; 1 in CrashLoopBackOff; 1 OOMKilled in the last 60 min; up to 7 restarts"
    )
    assert checks(result) == {
        "pods_ready": (1, "warning"),
        "crashloop_pods": (1, "critical"),
        "oom_killed_recently": (1, "critical"),
        "start_errors": (0, "ok"),
        "max_restarts": (7, "warning"),
    }
    assert rows(result, "pods") == [
        {
            "pod": CRASHLOOP_POD,
            "phase": "Running",
            "ready": "0/1",
            "restarts": 7,
            "reason": "CrashLoopBackOff",
            "last_termination": "Error",
            "exit_code": 1,
            "image": NEW_IMAGE,
            "node": "node-b",
            "age": "25m",
        },
        {
            "pod": OOMKILLED_POD,
            "phase": "Running",
            "ready": "0/1",
            "restarts": 3,
            "reason": "",
            "last_termination": "OOMKilled",
            "exit_code": 137,
            "image": NEW_IMAGE,
            "node": "node-c",
            "age": "24m",
        },
        {
            "pod": HEALTHY_POD,
            "phase": "Running",
            "ready": "2/2",
            "restarts": 0,
            "reason": "",
            "last_termination": "",
            "exit_code": None,
            "image": OLD_IMAGE,  # kubectl's default-container, not the envoy sidecar
            "node": "node-a",
            "age": "2d5h",
        },
    ]
    assert table_of(result, "pods").key == ("pod",)
    assert result.raw["crashloop"] == [CRASHLOOP_POD]
    assert result.raw["oom_killed_recently"] == [OOMKILLED_POD]
    # The pods were selected by the deployment's matchLabels; the cart pod never came back.
    [pods_request] = kube_api.requests_to("/pods")
    assert pods_request.param("labelSelector") == "app=checkout"


def test_pods_with_a_set_based_label_selector_and_no_deployment(kube_api, make_target):
    result = run(
        "kubernetes.pods",
        make_target(deployment=None, label_selector="tier in (backend),app!=checkout"),
    )
    assert [r["pod"] for r in rows(result, "pods")] == [CART_POD]
    assert result.status == "warning"
    assert result.summary == "1 of 1 pods ready; up to 9 restarts"
    assert [r.path for r in kube_api.requests] == ["/api/v1/namespaces/shop/pods"]
    assert kube_api.requests[0].param("labelSelector") == "tier in (backend),app!=checkout"


def test_pods_restart_threshold_is_a_param(make_target):
    result = run(
        "kubernetes.pods",
        make_target(deployment=None, label_selector="app=cart"),
        {"restarts_warning": 10},
    )
    assert result.status == "ok"
    assert checks(result)["max_restarts"] == (9, "ok")
    assert next(c for c in result.checks if c.name == "max_restarts").threshold == "warning ≥ 10"


def test_an_old_oomkill_is_listed_but_not_critical(kube_api, make_target):
    kube_api.state["pods"] = [
        p for p in kube_api.state["pods"] if p["metadata"]["name"] != CRASHLOOP_POD
    ]
    oomkilled = item(kube_api, "pods", OOMKILLED_POD)
    terminated = oomkilled["status"]["containerStatuses"][0]["lastState"]["terminated"]
    terminated["finishedAt"] = ts(kube_api.now - timedelta(hours=3))

    result = run("kubernetes.pods", make_target())

    assert result.status == "warning"
    assert result.summary == "1 of 2 pods ready"
    assert checks(result)["oom_killed_recently"] == (0, "ok")
    assert rows(result, "pods")[0]["last_termination"] == "OOMKilled"


def test_image_pull_errors_are_critical(kube_api, make_target):
    crashloop = item(kube_api, "pods", CRASHLOOP_POD)
    crashloop["status"]["containerStatuses"][0]["state"] = {
        "waiting": {
            "reason": "ImagePullBackOff",
            "message": 'Back-off pulling image "checkout:1.5.0"',
        }
    }
    result = run("kubernetes.pods", make_target())
    assert checks(result)["start_errors"] == (1, "critical")
    assert checks(result)["crashloop_pods"] == (0, "ok")
    assert rows(result, "pods")[0]["reason"] == "ImagePullBackOff"


def test_no_matching_pods_is_critical(kube_api, make_target):
    kube_api.state["pods"] = []
    result = run("kubernetes.pods", make_target())
    assert result.status == "critical"
    assert result.summary == "no pods match app=checkout in shop"
    assert checks(result)["pods_ready"] == (0, "critical")


def test_a_missing_deployment_is_a_critical_finding_not_an_outage(kube_api, make_target):
    result = run("kubernetes.pods", make_target(deployment="payments"))
    assert result.status == "critical"
    assert result.summary == "deployment payments not found in namespace shop"
    assert checks(result) == {"object_exists": ("no", "critical")}
    assert [r.path for r in kube_api.requests] == [
        "/apis/apps/v1/namespaces/shop/deployments/payments"
    ]


# --- kubernetes.rollout ------------------------------------------------------------------------


def test_rollout_stalled_mid_way(kube_api, make_target):
    result = run("kubernetes.rollout", make_target())

    assert result.status == "critical"
    assert (
        result.summary
        == "rollout stalled (ProgressDeadlineExceeded): 2 of 3 updated, 1 of 3 available, revision 4"
    )
    assert checks(result) == {
        "updated_replicas": (2, "warning"),
        "available_replicas": (1, "warning"),
        "observed_generation": ("7/7", "ok"),
        "progressing_condition": ("False (ProgressDeadlineExceeded)", "critical"),
        "available_condition": ("False (MinimumReplicasUnavailable)", "critical"),
    }
    assert {
        k: result.raw[k] for k in ("desired", "updated", "ready", "available", "unavailable")
    } == {
        "desired": 3,
        "updated": 2,
        "ready": 1,
        "available": 1,
        "unavailable": 2,
    }
    # The revision-2 history ReplicaSet (0 replicas) and cart's are left out.
    assert rows(result, "replicasets") == [
        {
            "replicaset": NEW_RS,
            "revision": "4",
            "role": "new",
            "desired": 2,
            "ready": 0,
            "available": 0,
            "image": NEW_IMAGE,
        },
        {
            "replicaset": OLD_RS,
            "revision": "3",
            "role": "old",
            "desired": 1,
            "ready": 1,
            "available": 1,
            "image": OLD_IMAGE,
        },
    ]
    assert [(r["type"], r["status"], r["reason"]) for r in rows(result, "conditions")] == [
        ("Available", "False", "MinimumReplicasUnavailable"),
        ("Progressing", "False", "ProgressDeadlineExceeded"),
    ]
    [rs_request] = kube_api.requests_to("/replicasets")
    assert rs_request.param("labelSelector") == "app=checkout"


def test_rollout_in_progress_is_a_warning(kube_api, make_target):
    deployment = item(kube_api, "deployments", "checkout")
    deployment["metadata"]["generation"] = 8
    deployment["status"].update(availableReplicas=2, readyReplicas=2, unavailableReplicas=1)
    deployment["status"]["conditions"] = [
        {
            "type": "Available",
            "status": "True",
            "reason": "MinimumReplicasAvailable",
            "message": "ok",
        },
        {
            "type": "Progressing",
            "status": "True",
            "reason": "ReplicaSetUpdated",
            "message": "progressing",
        },
    ]
    result = run("kubernetes.rollout", make_target())
    assert result.status == "warning"
    assert result.summary == "rollout in progress: 2 of 3 updated, 2 of 3 available, revision 4"
    assert checks(result)["observed_generation"] == ("7/8", "warning")
    assert checks(result)["progressing_condition"] == ("True (ReplicaSetUpdated)", "ok")


def test_rollout_complete_is_ok(kube_api, make_target):
    deployment = item(kube_api, "deployments", "checkout")
    deployment["status"] = {
        "observedGeneration": 7,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    }
    old = item(kube_api, "replicasets", OLD_RS)
    old["spec"]["replicas"] = 0
    old["status"] = {"replicas": 0, "observedGeneration": 3}
    result = run("kubernetes.rollout", make_target())
    assert result.status == "ok"
    assert result.summary == "rollout complete: 3 of 3 updated, 3 of 3 available, revision 4"
    assert [r["replicaset"] for r in rows(result, "replicasets")] == [NEW_RS]


def test_rollout_needs_a_deployment(make_target):
    with pytest.raises(ProbeConfigError, match="names no deployment"):
        run("kubernetes.rollout", make_target(deployment=None, label_selector="app=checkout"))


# --- kubernetes.endpoints ----------------------------------------------------------------------


def test_endpoints_ready_and_not_ready_addresses(kube_api, make_target):
    result = run("kubernetes.endpoints", make_target())
    assert result.status == "warning"
    assert result.summary == "service checkout: 1 ready, 2 not ready (http 8080/TCP)"
    assert checks(result) == {"ready_addresses": (1, "ok"), "not_ready_addresses": (2, "warning")}
    assert rows(result, "addresses") == [
        {
            "pod": CRASHLOOP_POD,
            "address": "10.1.1.23",
            "node": "node-b",
            "ready": "no",
            "ports": "http 8080/TCP",
        },
        {
            "pod": OOMKILLED_POD,
            "address": "10.1.2.31",
            "node": "node-c",
            "ready": "no",
            "ports": "http 8080/TCP",
        },
        {
            "pod": HEALTHY_POD,
            "address": "10.1.0.11",
            "node": "node-a",
            "ready": "yes",
            "ports": "http 8080/TCP",
        },
    ]
    assert [r.path for r in kube_api.requests] == ["/api/v1/namespaces/shop/endpoints/checkout"]


def test_endpoints_with_nothing_ready_are_critical(kube_api, make_target):
    subset = item(kube_api, "endpoints", "checkout")["subsets"][0]
    subset["notReadyAddresses"] += subset.pop("addresses")
    result = run("kubernetes.endpoints", make_target())
    assert result.status == "critical"
    assert checks(result)["ready_addresses"] == (0, "critical")
    assert result.summary == "service checkout: 0 ready, 3 not ready (http 8080/TCP)"


def test_endpoints_of_a_missing_service_are_a_critical_finding(make_target):
    result = run("kubernetes.endpoints", make_target(service="payments"))
    assert result.status == "critical"
    assert result.summary == "endpoints of service payments not found in namespace shop"


def test_endpoints_need_a_service(make_target):
    with pytest.raises(ProbeConfigError, match="names no service"):
        run("kubernetes.endpoints", make_target(service=None))


# --- kubernetes.events -------------------------------------------------------------------------


def test_events_lists_recent_warnings_about_the_target_newest_first(kube_api, make_target):
    result = run("kubernetes.events", make_target())

    assert result.status == "warning"
    assert result.summary == (
        "4 warning events for checkout in the last 60 min: BackOff ×12, Unhealthy ×9, FailedScheduling ×3, FailedCreate ×2"
    )
    found = rows(result, "warning_events")
    assert [(r["reason"], r["object"], r["count"]) for r in found] == [
        ("BackOff", f"Pod/{CRASHLOOP_POD}", 12),
        ("Unhealthy", f"Pod/{OOMKILLED_POD}", 9),
        ("FailedScheduling", f"Pod/{DELETED_POD}", 3),  # events.k8s.io style: series, eventTime
        ("FailedCreate", f"ReplicaSet/{NEW_RS}", 2),
    ]
    assert found[0]["last_seen"] == ts(kube_api.now - timedelta(minutes=1))
    assert found[2]["last_seen"] == ts(kube_api.now - timedelta(minutes=8))
    assert found[1]["message"] == "Readiness probe failed: HTTP probe failed with statuscode: 503"
    # Left out: the 3-hour-old warning, the cart pod's BackOff, the checkout-worker
    # deployment's event and (by the server, on our field selector) the Normal event.
    [events_request] = kube_api.requests_to("/events")
    assert events_request.param("fieldSelector") == "type=Warning"


def test_events_window_and_bound_are_params(make_target):
    wider = run("kubernetes.events", make_target(), {"since_minutes": 240})
    assert [r["reason"] for r in rows(wider, "warning_events")][-1] == "Unhealthy"
    assert len(rows(wider, "warning_events")) == 5

    bounded = run("kubernetes.events", make_target(), {"max_events": 2})
    assert [r["reason"] for r in rows(bounded, "warning_events")] == ["BackOff", "Unhealthy"]
    assert table_of(bounded, "warning_events").total_rows == 4


def test_events_of_a_label_selected_target_concern_its_current_pods(make_target):
    result = run("kubernetes.events", make_target(deployment=None, label_selector="app=checkout"))
    assert [r["object"] for r in rows(result, "warning_events")] == [
        f"Pod/{CRASHLOOP_POD}",
        f"Pod/{OOMKILLED_POD}",
    ]


def test_no_recent_events_is_ok(kube_api, make_target):
    kube_api.state["events"] = []
    result = run("kubernetes.events", make_target())
    assert result.status == "ok"
    assert result.summary == "no warning events for checkout in the last 60 min"


# --- kubernetes.resources ----------------------------------------------------------------------


def test_resources_top_by_cpu_with_limit_findings(kube_api, make_target):
    result = run("kubernetes.resources", make_target(), {"sort_by": "cpu"})

    assert result.status == "warning"
    assert result.summary == (
        f"top CPU: {HEALTHY_POD}/checkout 480.1m (96 % of limit); 1 near the CPU limit; 1 near the memory limit; 1 without limits"
    )
    assert checks(result) == {
        "max_cpu_percent_of_limit": (96.0, "warning"),
        "max_memory_percent_of_limit": (97.3, "warning"),
        "containers_without_limits": (1, "ok"),
    }
    assert [list(r.values()) for r in rows(result, "containers")] == [
        [HEALTHY_POD, "checkout", 480.1, 250.0, 500.0, 96.0, 256.0, 256.0, 512.0, 50.0],
        [OOMKILLED_POD, "checkout", 250.0, 250.0, 1000.0, 25.0, 498.0, 256.0, 512.0, 97.3],
        [HEALTHY_POD, "envoy", 12.0, 50.0, None, None, 40.0, 64.0, None, None],
        [CRASHLOOP_POD, "checkout", 1.5, 250.0, 1000.0, 0.1, 10.0, 256.0, 512.0, 2.0],
    ]
    assert [list(r.values()) for r in rows(result, "top_pods")] == [
        [HEALTHY_POD, 492.1, 296.0],
        [OOMKILLED_POD, 250.0, 498.0],
        [CRASHLOOP_POD, 1.5, 10.0],
    ]
    assert [list(r.values()) for r in rows(result, "findings")] == [
        [HEALTHY_POD, "checkout", "CPU near its limit: throttling risk", 96.0],
        [OOMKILLED_POD, "checkout", "memory near its limit: OOM risk", 97.3],
        [HEALTHY_POD, "envoy", "no CPU limit", None],
        [HEALTHY_POD, "envoy", "no memory limit", None],
    ]
    [metrics_request] = kube_api.requests_to("metrics.k8s.io")
    assert metrics_request.param("labelSelector") == "app=checkout"


def test_resources_top_by_memory(make_target):
    result = run("kubernetes.resources", make_target(), {"sort_by": "memory"})
    assert [r["pod"] for r in rows(result, "top_pods")] == [
        OOMKILLED_POD,
        HEALTHY_POD,
        CRASHLOOP_POD,
    ]
    assert [(r["pod"], r["container"]) for r in rows(result, "containers")] == [
        (OOMKILLED_POD, "checkout"),
        (HEALTHY_POD, "checkout"),
        (HEALTHY_POD, "envoy"),
        (CRASHLOOP_POD, "checkout"),
    ]
    assert result.summary.startswith(
        f"top memory: {OOMKILLED_POD}/checkout 498Mi (97.3 % of limit)"
    )


def test_resources_thresholds_are_params(make_target):
    result = run(
        "kubernetes.resources", make_target(), {"cpu_limit_percent": 97, "memory_limit_percent": 98}
    )
    assert result.status == "ok"
    assert [r["finding"] for r in rows(result, "findings")] == ["no CPU limit", "no memory limit"]
    assert next(c for c in result.checks if c.name == "max_cpu_percent_of_limit").threshold == (
        "warning ≥ 97 % (throttling risk)"
    )


@pytest.mark.parametrize("status", [404, 503])
def test_resources_without_metrics_server_still_report_requests_and_limits(
    kube_api, make_target, status
):
    kube_api.fail("podmetrics", status)
    result = run("kubernetes.resources", make_target())
    assert result.status == "warning"
    assert result.warnings == [
        f"metrics-server not available (HTTP {status}): only requests and limits"
    ]
    assert checks(result)["metrics_available"] == ("no", "warning")
    assert result.summary == "4 containers; metrics-server not available; 1 without limits"
    first = rows(result, "containers")[0]
    assert (first["cpu_m"], first["cpu_request_m"], first["memory_limit_mib"]) == (
        None,
        250.0,
        512.0,
    )


def test_resources_when_the_metrics_api_group_is_not_installed(kube_api, make_target):
    kube_api.state["podmetrics"] = None  # the API group is unknown: 404 from the server itself
    result = run("kubernetes.resources", make_target())
    assert result.warnings == ["metrics-server not available (HTTP 404): only requests and limits"]


# --- kubernetes.network_policies ---------------------------------------------------------------


def test_network_policies_selecting_the_pods(make_target):
    result = run("kubernetes.network_policies", make_target())

    assert result.status == "ok"
    assert result.summary == (
        "3 of 5 network policies select checkout; default-deny-ingress denies all ingress (2 allow some)"
    )
    assert rows(result, "policies") == [
        {
            "policy": "backend-metrics",
            "policy_types": "Ingress",
            "ingress": "from ns(kubernetes.io/metadata.name=monitoring)/pods(app=prometheus) on TCP/metrics",
            "egress": "",
            "finding": "",
        },
        {
            "policy": "checkout-allow-frontend",
            "policy_types": "Ingress",
            "ingress": "from pods(app=frontend), ns(kubernetes.io/metadata.name=ingress-nginx) on TCP/8080",
            "egress": "",
            "finding": "",
        },
        {
            "policy": "default-deny-ingress",
            "policy_types": "Ingress",
            "ingress": "deny all",
            "egress": "",
            "finding": "denies all ingress",
        },
    ]
    assert result.raw["deny_all"] == {"ingress": ["default-deny-ingress"]}
    assert checks(result)["traffic_fully_denied"] == ("none", "ok")


def test_network_policies_that_cut_the_pods_off_are_a_warning(kube_api, make_target):
    kube_api.state["networkpolicies"] = [
        p
        for p in kube_api.state["networkpolicies"]
        if p["metadata"]["name"] in ("default-deny-ingress", "cart-egress-db")
    ]
    result = run("kubernetes.network_policies", make_target())
    assert result.status == "warning"
    assert checks(result)["traffic_fully_denied"] == ("ingress", "warning")
    assert result.summary == (
        "1 of 2 network policies select checkout; default-deny-ingress denies all ingress (nothing allows any)"
    )


def test_network_policies_of_a_label_selected_target_with_egress_rules(make_target):
    result = run(
        "kubernetes.network_policies", make_target(deployment=None, label_selector="app=cart")
    )
    # legacy-isolation (app NotIn [checkout, cart]) and checkout-allow-frontend leave cart alone.
    assert result.raw["selecting"] == ["backend-metrics", "cart-egress-db", "default-deny-ingress"]
    egress = next(r for r in rows(result, "policies") if r["policy"] == "cart-egress-db")
    assert egress == {
        "policy": "cart-egress-db",
        "policy_types": "Egress",
        "ingress": "",
        "egress": "to 10.0.0.0/8 except 10.0.5.0/24 on TCP/5432",
        "finding": "",
    }


def test_network_policies_use_the_pod_template_when_no_pod_runs(kube_api, make_target):
    kube_api.state["pods"] = []
    result = run("kubernetes.network_policies", make_target())
    assert result.raw["selecting"] == [
        "backend-metrics",
        "checkout-allow-frontend",
        "default-deny-ingress",
    ]


# --- kubernetes.logs ---------------------------------------------------------------------------


def test_logs_filtered_by_the_default_pattern(kube_api, make_target):
    result = run("kubernetes.logs", make_target())

    assert result.status == "warning"
    assert result.summary == (
        "4 lines matching (?i)error|slow|timeout|exception in 2 of 3 pods (last 500 lines, 60 min)"
    )
    found = [
        (r["pod"], r["container"], re.sub(r"^\S+Z ", "", r["line"]))  # without the timestamp
        for r in rows(result, "matching_lines")
    ]
    assert found == [
        (
            CRASHLOOP_POD,
            "checkout",
            'Exception in thread "main" java.lang.IllegalStateException: missing PAYMENT_API_URL',
        ),
        (
            HEALTHY_POD,
            "checkout",
            "WARN  slow query: SELECT * FROM orders WHERE customer_id=$1 took 2300ms",
        ),
        (HEALTHY_POD, "checkout", "ERROR payment gateway call failed: Timeout after 5000ms"),
        # A JSON log line arrives verbatim, not as the client's Python repr of it.
        (
            HEALTHY_POD,
            "checkout",
            '{"level":"error","msg":"redis: connection pool timeout","pool":"cart-cache"}',
        ),
    ]
    log_requests = kube_api.requests_to("/log")
    assert [r.path.split("/")[-2] for r in log_requests] == [
        CRASHLOOP_POD,
        OOMKILLED_POD,
        HEALTHY_POD,
    ]
    assert {
        (r.param("container"), r.param("tailLines"), r.param("sinceSeconds"), r.param("limitBytes"))
        for r in log_requests
    } == {("checkout", "500", "3600", "262144")}


def test_logs_pattern_tail_and_bound_are_params(kube_api, make_target):
    slow = run("kubernetes.logs", make_target(), {"pattern": "(?i)slow|timeout"})
    assert len(rows(slow, "matching_lines")) == 3

    tail = run("kubernetes.logs", make_target(), {"tail_lines": 2, "since_minutes": 5})
    assert [r["line"][-20:] for r in rows(tail, "matching_lines")] == [
        "sing PAYMENT_API_URL",
        "Timeout after 5000ms",
        '"pool":"cart-cache"}',
    ]
    assert {r.param("tailLines") for r in kube_api.requests_to("/log")} == {"500", "2"}
    assert "300" in {r.param("sinceSeconds") for r in kube_api.requests_to("/log")}

    bounded = run("kubernetes.logs", make_target(), {"max_lines": 1})
    assert len(rows(bounded, "matching_lines")) == 1
    assert table_of(bounded, "matching_lines").total_rows == 4


def test_logs_of_the_configured_container(kube_api, make_target):
    result = run("kubernetes.logs", make_target(container="envoy"))
    assert [r["container"] for r in rows(result, "matching_lines")] == ["envoy"]
    assert result.warnings == [
        f"{CRASHLOOP_POD}: no container envoy",
        f"{OOMKILLED_POD}: no container envoy",
    ]
    assert [r.param("container") for r in kube_api.requests_to("/log")] == ["envoy"]


def test_logs_of_a_container_not_started_yet_are_a_warning(kube_api, make_target):
    kube_api.fail("log", 400)
    result = run("kubernetes.logs", make_target())
    assert result.status == "ok"
    assert result.summary.startswith("0 lines matching")
    assert result.warnings[0] == (
        f'{CRASHLOOP_POD}: container "checkout" in pod "{CRASHLOOP_POD}" is waiting to start: ContainerCreating'
    )


def test_logs_forbidden_is_unreachable(kube_api, make_target):
    kube_api.fail("log", 403)
    with pytest.raises(
        ProbeUnreachable, match=r"^forbidden: the service account may not read pod logs in shop$"
    ):
        run("kubernetes.logs", make_target())


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("(unclosed", "Not a valid regular expression"),
        ("(a+)+$", "Nested quantifiers"),
        (r"(\w*\s?)*done", "Nested quantifiers"),
        ("(.*x){20}", "Nested quantifiers"),
        ("x" * 201, "no more than 200 characters"),
    ],
)
def test_logs_pattern_is_validated(pattern, problem):
    with pytest.raises(serializers.ValidationError) as raised:
        registry.get("kubernetes.logs").validate_params({"pattern": pattern})
    assert problem in str(raised.value.detail["pattern"][0])


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?i)error|exception|5\d\d",
        r"(?i)slow|timeout",
        r"(?i)dead.?letter|dlq|error",
        "(?i)pool|timeout|too many",
    ],
)
def test_the_seeded_runbook_patterns_are_valid(pattern):
    assert (
        registry.get("kubernetes.logs").validate_params({"pattern": pattern})["pattern"] == pattern
    )
