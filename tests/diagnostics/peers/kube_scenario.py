"""Scenario data for the fake Kubernetes API: the `checkout` deployment's stalled rollout.

Namespace `shop`. `checkout` wants 3 replicas of revision 4 (image 1.5.0): 2 pods are updated and
1 is available — the old revision-3 pod, healthy with an `envoy` sidecar that has no limits. Of
the two new pods one is in CrashLoopBackOff (7 restarts, last exit Error 1) and one was just
OOMKilled (exit 137, 3 restarts, running but not ready). A `cart` pod, its metrics, events, logs
and an egress policy are there for the selectors to leave out. Timestamps are relative to `now`.

The shapes are what an API server returns (lists omit each item's kind/apiVersion; the server
adds them on single-object GETs), including a scheduler event in the newer events.k8s.io form
(eventTime and series, no lastTimestamp) and metrics in the units metrics-server uses.
"""

from __future__ import annotations

from datetime import datetime, timedelta

NAMESPACE = "shop"
REVISION = "deployment.kubernetes.io/revision"

HEALTHY_POD = "checkout-5c7b9d8f4-x2x9p"
CRASHLOOP_POD = "checkout-7d9f8b6c5d-k4m2q"
OOMKILLED_POD = "checkout-7d9f8b6c5d-p8w7z"
DELETED_POD = "checkout-7d9f8b6c5d-zx9vb"  # only its events remain
CART_POD = "cart-6f8d7c9b5-q1w2e"
NEW_RS = "checkout-7d9f8b6c5d"
OLD_RS = "checkout-5c7b9d8f4"


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _meta(name: str, created: datetime, *, uid: str, labels: dict | None = None, **extra) -> dict:
    meta = {
        "name": name,
        "namespace": NAMESPACE,
        "uid": uid,
        "resourceVersion": str(180000 + sum(map(ord, name))),
        "creationTimestamp": ts(created),
    }
    if labels:
        meta["labels"] = labels
    meta.update(extra)
    return meta


def _checkout_container(image: str, *, cpu_limit: str) -> dict:
    return {
        "name": "checkout",
        "image": image,
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": cpu_limit, "memory": "512Mi"},
        },
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"},
            "periodSeconds": 5,
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }


def _container_status(
    name: str, image: str, *, ready: bool, restarts: int, state: dict, last: dict | None = None
) -> dict:
    return {
        "name": name,
        "image": image,
        "imageID": f"{image.split(':')[0]}@sha256:{'ab' * 32}",
        "containerID": f"containerd://{'cd' * 32}",
        "ready": ready,
        "started": "running" in state,
        "restartCount": restarts,
        "state": state,
        "lastState": last or {},
    }


def _pod(
    name: str,
    rs: str,
    *,
    labels: dict,
    created: datetime,
    node: str,
    ip: str,
    containers: list,
    statuses: list,
    ready: bool,
) -> dict:
    ready_text = "True" if ready else "False"
    not_ready = (
        {}
        if ready
        else {
            "reason": "ContainersNotReady",
            "message": "containers with unready status: [checkout]",
        }
    )
    return {
        "metadata": _meta(
            name,
            created,
            uid=f"uid-{name}",
            labels=labels,
            generateName=f"{rs}-",
            annotations={"kubectl.kubernetes.io/default-container": "checkout"},
            ownerReferences=[
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": rs,
                    "uid": f"uid-{rs}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        ),
        "spec": {
            "containers": containers,
            "nodeName": node,
            "restartPolicy": "Always",
            "serviceAccountName": "checkout",
            "dnsPolicy": "ClusterFirst",
        },
        "status": {
            "phase": "Running",
            "hostIP": "192.168.10.11",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": ts(created),
            "qosClass": "Burstable",
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(created)},
                {"type": "Initialized", "status": "True", "lastTransitionTime": ts(created)},
                {
                    "type": "ContainersReady",
                    "status": ready_text,
                    "lastTransitionTime": ts(created),
                    **not_ready,
                },
                {
                    "type": "Ready",
                    "status": ready_text,
                    "lastTransitionTime": ts(created),
                    **not_ready,
                },
            ],
            "containerStatuses": statuses,
        },
    }


def scenario_pods(now: datetime) -> list[dict]:
    old_image = "registry.example.com/shop/checkout:1.4.2"
    new_image = "registry.example.com/shop/checkout:1.5.0"
    envoy_image = "docker.io/envoyproxy/envoy:v1.31.0"
    checkout_labels = {"app": "checkout", "tier": "backend"}
    envoy = {
        "name": "envoy",
        "image": envoy_image,
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }
    running_since = {"running": {"startedAt": ts(now - timedelta(days=2, hours=5))}}
    healthy = _pod(
        HEALTHY_POD,
        OLD_RS,
        labels={**checkout_labels, "pod-template-hash": "5c7b9d8f4"},
        created=now - timedelta(days=2, hours=5, seconds=20),
        node="node-a",
        ip="10.1.0.11",
        containers=[_checkout_container(old_image, cpu_limit="500m"), envoy],
        statuses=[
            _container_status("checkout", old_image, ready=True, restarts=0, state=running_since),
            _container_status("envoy", envoy_image, ready=True, restarts=0, state=running_since),
        ],
        ready=True,
    )
    crashloop = _pod(
        CRASHLOOP_POD,
        NEW_RS,
        labels={**checkout_labels, "pod-template-hash": "7d9f8b6c5d"},
        created=now - timedelta(minutes=25, seconds=30),
        node="node-b",
        ip="10.1.1.23",
        containers=[_checkout_container(new_image, cpu_limit="1")],
        statuses=[
            _container_status(
                "checkout",
                new_image,
                ready=False,
                restarts=7,
                state={
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off 5m0s restarting failed container=checkout pod={CRASHLOOP_POD}_shop(uid-{CRASHLOOP_POD})",
                    }
                },
                last={
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "startedAt": ts(now - timedelta(minutes=3)),
                        "finishedAt": ts(now - timedelta(minutes=2)),
                        "containerID": f"containerd://{'ef' * 32}",
                    }
                },
            )
        ],
        ready=False,
    )
    oomkilled = _pod(
        OOMKILLED_POD,
        NEW_RS,
        labels={**checkout_labels, "pod-template-hash": "7d9f8b6c5d"},
        created=now - timedelta(minutes=24),
        node="node-c",
        ip="10.1.2.31",
        containers=[_checkout_container(new_image, cpu_limit="1")],
        statuses=[
            _container_status(
                "checkout",
                new_image,
                ready=False,
                restarts=3,
                state={"running": {"startedAt": ts(now - timedelta(seconds=40))}},
                last={
                    "terminated": {
                        "exitCode": 137,
                        "reason": "OOMKilled",
                        "startedAt": ts(now - timedelta(minutes=6)),
                        "finishedAt": ts(now - timedelta(minutes=1)),
                        "containerID": f"containerd://{'12' * 32}",
                    }
                },
            )
        ],
        ready=False,
    )
    cart_image = "registry.example.com/shop/cart:3.2.0"
    cart = _pod(
        CART_POD,
        "cart-6f8d7c9b5",
        labels={"app": "cart", "tier": "backend", "pod-template-hash": "6f8d7c9b5"},
        created=now - timedelta(days=6),
        node="node-a",
        ip="10.1.0.40",
        containers=[{**_checkout_container(cart_image, cpu_limit="1"), "name": "cart"}],
        statuses=[
            _container_status("cart", cart_image, ready=True, restarts=9, state=running_since)
        ],
        ready=True,
    )
    cart["metadata"]["annotations"] = {}
    return [healthy, crashloop, oomkilled, cart]


def scenario_deployment(now: datetime) -> dict:
    return {
        "metadata": _meta(
            "checkout",
            now - timedelta(days=30),
            uid="uid-deploy-checkout",
            labels={"app": "checkout"},
            generation=7,
            annotations={REVISION: "4"},
        ),
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "checkout"}},
            "template": {
                "metadata": {"labels": {"app": "checkout", "tier": "backend"}},
                "spec": {
                    "containers": [
                        _checkout_container(
                            "registry.example.com/shop/checkout:1.5.0", cpu_limit="1"
                        )
                    ]
                },
            },
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": {
            "observedGeneration": 7,
            "replicas": 3,
            "updatedReplicas": 2,
            "readyReplicas": 1,
            "availableReplicas": 1,
            "unavailableReplicas": 2,
            "conditions": [
                {
                    "type": "Available",
                    "status": "False",
                    "reason": "MinimumReplicasUnavailable",
                    "message": "Deployment does not have minimum availability.",
                    "lastUpdateTime": ts(now - timedelta(minutes=25)),
                    "lastTransitionTime": ts(now - timedelta(minutes=25)),
                },
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": f'ReplicaSet "{NEW_RS}" has timed out progressing.',
                    "lastUpdateTime": ts(now - timedelta(minutes=15)),
                    "lastTransitionTime": ts(now - timedelta(minutes=15)),
                },
            ],
        },
    }


def _replicaset(
    name: str, revision: str, image: str, *, app: str, replicas: int, ready: int, created: datetime
) -> dict:
    template_hash = name.rsplit("-", 1)[1]
    labels = {"app": app, "tier": "backend", "pod-template-hash": template_hash}
    owner = app if app == "checkout" else f"{app}-deploy"
    status = {"replicas": replicas, "fullyLabeledReplicas": replicas, "observedGeneration": 2}
    if ready:
        status.update(readyReplicas=ready, availableReplicas=ready)
    return {
        "metadata": _meta(
            name,
            created,
            uid=f"uid-{name}",
            labels=labels,
            generation=2,
            annotations={
                REVISION: revision,
                "deployment.kubernetes.io/desired-replicas": "3",
                "deployment.kubernetes.io/max-replicas": "4",
            },
            ownerReferences=[
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": owner,
                    "uid": f"uid-deploy-{owner}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        ),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app, "pod-template-hash": template_hash}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": app, "image": image}]},
            },
        },
        "status": status,
    }


def scenario_replicasets(now: datetime) -> list[dict]:
    image = "registry.example.com/shop/checkout:{}"
    return [
        _replicaset(
            NEW_RS,
            "4",
            image.format("1.5.0"),
            app="checkout",
            replicas=2,
            ready=0,
            created=now - timedelta(minutes=26),
        ),
        _replicaset(
            OLD_RS,
            "3",
            image.format("1.4.2"),
            app="checkout",
            replicas=1,
            ready=1,
            created=now - timedelta(days=2, hours=6),
        ),
        _replicaset(
            "checkout-6b8c7d9e2",
            "2",
            image.format("1.4.1"),
            app="checkout",
            replicas=0,
            ready=0,
            created=now - timedelta(days=9),
        ),
        _replicaset(
            "cart-6f8d7c9b5",
            "5",
            "registry.example.com/shop/cart:3.2.0",
            app="cart",
            replicas=1,
            ready=1,
            created=now - timedelta(days=6),
        ),
    ]


def _address(pod: str, ip: str, node: str) -> dict:
    return {
        "ip": ip,
        "nodeName": node,
        "targetRef": {"kind": "Pod", "namespace": NAMESPACE, "name": pod, "uid": f"uid-{pod}"},
    }


def scenario_endpoints(now: datetime) -> list[dict]:
    return [
        {
            "metadata": _meta(
                "checkout",
                now - timedelta(days=30),
                uid="uid-ep-checkout",
                labels={"app": "checkout"},
                annotations={
                    "endpoints.kubernetes.io/last-change-trigger-time": ts(
                        now - timedelta(minutes=1)
                    )
                },
            ),
            "subsets": [
                {
                    "addresses": [_address(HEALTHY_POD, "10.1.0.11", "node-a")],
                    "notReadyAddresses": [
                        _address(CRASHLOOP_POD, "10.1.1.23", "node-b"),
                        _address(OOMKILLED_POD, "10.1.2.31", "node-c"),
                    ],
                    "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                }
            ],
        }
    ]


def _event(
    name: str,
    kind: str,
    obj: str,
    reason: str,
    message: str,
    *,
    last: datetime | None,
    count: int | None,
    type_: str = "Warning",
    component: str = "kubelet",
    **extra,
) -> dict:
    api_version = "v1" if kind == "Pod" else "apps/v1"
    event = {
        "metadata": _meta(
            f"{obj}.{name}", last or extra.get("_created", last), uid=f"uid-ev-{name}"
        ),
        "involvedObject": {
            "kind": kind,
            "namespace": NAMESPACE,
            "name": obj,
            "uid": f"uid-{obj}",
            "apiVersion": api_version,
            "resourceVersion": "180100",
        },
        "reason": reason,
        "message": message,
        "source": {"component": component, "host": "node-b"}
        if component == "kubelet"
        else {"component": component},
        "firstTimestamp": ts(last - timedelta(minutes=20)) if last else None,
        "lastTimestamp": ts(last) if last else None,
        "count": count,
        "type": type_,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": "node-b" if component == "kubelet" else "",
    }
    if kind == "Pod":
        event["involvedObject"]["fieldPath"] = "spec.containers{checkout}"
    event.update({k: v for k, v in extra.items() if not k.startswith("_")})
    return event


def scenario_events(now: datetime) -> list[dict]:
    scheduled_at = now - timedelta(minutes=20)
    failed_scheduling = _event(
        "17f2a9c3b1d4e5f6",
        "Pod",
        DELETED_POD,
        "FailedScheduling",
        "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
        last=None,
        count=None,
        component="default-scheduler",
        _created=scheduled_at,
        eventTime=micro_ts(scheduled_at),
        action="Scheduling",
        series={"count": 3, "lastObservedTime": micro_ts(now - timedelta(minutes=8))},
    )
    failed_scheduling["metadata"]["creationTimestamp"] = ts(scheduled_at)
    failed_scheduling["involvedObject"].pop("fieldPath")
    return [
        _event(
            "17f2a9c3b1d4e5a1",
            "Pod",
            CRASHLOOP_POD,
            "BackOff",
            "Back-off restarting failed container checkout in pod checkout-7d9f8b6c5d-k4m2q_shop(uid-checkout-7d9f8b6c5d-k4m2q)",
            last=now - timedelta(minutes=1),
            count=12,
        ),
        _event(
            "17f2a9c3b1d4e5a2",
            "Pod",
            OOMKILLED_POD,
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            last=now - timedelta(minutes=2),
            count=9,
        ),
        failed_scheduling,
        _event(
            "17f2a9c3b1d4e5a3",
            "ReplicaSet",
            NEW_RS,
            "FailedCreate",
            'Error creating: pods "checkout-7d9f8b6c5d-v6n4t" is forbidden: exceeded quota: shop-quota, requested: limits.memory=512Mi, used: limits.memory=1536Mi, limited: limits.memory=2Gi',
            last=now - timedelta(minutes=10),
            count=2,
            component="replicaset-controller",
        ),
        _event(
            "17f2a9c3b1d4e5a4",
            "Pod",
            HEALTHY_POD,
            "Unhealthy",
            'Liveness probe failed: Get "http://10.1.0.11:8080/health": context deadline exceeded',
            last=now - timedelta(hours=3),
            count=1,
        ),
        _event(
            "17f2a9c3b1d4e5a5",
            "Pod",
            CART_POD,
            "BackOff",
            "Back-off restarting failed container cart in pod cart-6f8d7c9b5-q1w2e_shop(uid-cart)",
            last=now - timedelta(minutes=3),
            count=4,
        ),
        _event(
            "17f2a9c3b1d4e5a6",
            "Pod",
            OOMKILLED_POD,
            "Pulled",
            'Container image "registry.example.com/shop/checkout:1.5.0" already present on machine',
            last=now - timedelta(minutes=1),
            count=4,
            type_="Normal",
        ),
        _event(
            "17f2a9c3b1d4e5a7",
            "Deployment",
            "checkout-worker",
            "FailedCreate",
            "unrelated deployment with a similar name",
            last=now - timedelta(minutes=4),
            count=1,
            component="deployment-controller",
        ),
    ]


def _policy(
    name: str,
    selector: dict,
    types: list[str],
    *,
    now: datetime,
    ingress: list | None = None,
    egress: list | None = None,
) -> dict:
    spec: dict = {"podSelector": selector, "policyTypes": types}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {
        "metadata": _meta(name, now - timedelta(days=40), uid=f"uid-np-{name}", generation=1),
        "spec": spec,
    }


def scenario_network_policies(now: datetime) -> list[dict]:
    return [
        _policy(
            "checkout-allow-frontend",
            {"matchLabels": {"app": "checkout"}},
            ["Ingress"],
            now=now,
            ingress=[
                {
                    "from": [
                        {"podSelector": {"matchLabels": {"app": "frontend"}}},
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                            }
                        },
                    ],
                    "ports": [{"protocol": "TCP", "port": 8080}],
                }
            ],
        ),
        _policy("default-deny-ingress", {}, ["Ingress"], now=now),
        _policy(
            "backend-metrics",
            {
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["backend"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ]
            },
            ["Ingress"],
            now=now,
            ingress=[
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                            },
                            "podSelector": {"matchLabels": {"app": "prometheus"}},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": "metrics"}],
                }
            ],
        ),
        _policy(
            "cart-egress-db",
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["cart"]}]},
            ["Egress"],
            now=now,
            egress=[
                {
                    "to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.5.0/24"]}}],
                    "ports": [{"protocol": "TCP", "port": 5432}],
                }
            ],
        ),
        _policy(
            "legacy-isolation",
            {
                "matchExpressions": [
                    {"key": "app", "operator": "NotIn", "values": ["checkout", "cart"]}
                ]
            },
            ["Ingress", "Egress"],
            now=now,
        ),
    ]


def _pod_metrics(pod: str, labels: dict, usage: dict[str, tuple[str, str]], now: datetime) -> dict:
    return {
        "metadata": {
            "name": pod,
            "namespace": NAMESPACE,
            "creationTimestamp": ts(now),
            "labels": labels,
        },
        "timestamp": ts(now - timedelta(seconds=12)),
        "window": "15.021s",
        "containers": [
            {"name": name, "usage": {"cpu": cpu, "memory": memory}}
            for name, (cpu, memory) in usage.items()
        ],
    }


def scenario_pod_metrics(now: datetime) -> list[dict]:
    labels = {"app": "checkout", "tier": "backend"}
    return [
        # 480.123456m of a 500m limit = 96.0 %; 256 MiB of 512Mi = 50 %.
        _pod_metrics(
            HEALTHY_POD,
            {**labels, "pod-template-hash": "5c7b9d8f4"},
            {"checkout": ("480123456n", "262144Ki"), "envoy": ("12m", "40Mi")},
            now,
        ),
        _pod_metrics(
            CRASHLOOP_POD,
            {**labels, "pod-template-hash": "7d9f8b6c5d"},
            {"checkout": ("1500u", "10Mi")},
            now,
        ),
        # 498 MiB of 512Mi = 97.3 %.
        _pod_metrics(
            OOMKILLED_POD,
            {**labels, "pod-template-hash": "7d9f8b6c5d"},
            {"checkout": ("250m", "498Mi")},
            now,
        ),
        _pod_metrics(CART_POD, {"app": "cart", "tier": "backend"}, {"cart": ("900m", "1Gi")}, now),
    ]


def scenario_logs(now: datetime) -> dict[str, str]:
    def at(minutes: float) -> str:
        return micro_ts(now - timedelta(minutes=minutes))

    return {
        f"{HEALTHY_POD}/checkout": (
            f"{at(30)} INFO  started checkout 1.4.2 on :8080\n"
            f"{at(20)} INFO  GET /api/cart 200 12ms\n"
            f"{at(12)} WARN  slow query: SELECT * FROM orders WHERE customer_id=$1 took 2300ms\n"
            f"{at(9)} INFO  GET /health 200 1ms\n"
            f"{at(5)} ERROR payment gateway call failed: Timeout after 5000ms\n"
            '{"level":"error","msg":"redis: connection pool timeout","pool":"cart-cache"}\n'
        ),
        f"{HEALTHY_POD}/envoy": f"{at(4)} [warning] upstream connect error or disconnect/reset before headers\n",
        f"{CRASHLOOP_POD}/checkout": (
            f"{at(3)} INFO  started checkout 1.5.0 on :8080\n"
            f"{at(2.5)} INFO  loading configuration from /etc/checkout/config.yaml\n"
            f'{at(2.1)} Exception in thread "main" java.lang.IllegalStateException: missing PAYMENT_API_URL\n'
        ),
        f"{OOMKILLED_POD}/checkout": (
            f"{at(1)} INFO  started checkout 1.5.0 on :8080\n"
            f"{at(0.5)} INFO  warming product cache (48000 entries)\n"
        ),
        f"{CART_POD}/cart": f"{at(1)} ERROR this line belongs to another service\n",
    }


def scenario(now: datetime) -> dict:
    """Fresh, mutable scenario data (one copy per server, so tests may change it)."""
    return {
        "pods": scenario_pods(now),
        "deployments": [scenario_deployment(now)],
        "replicasets": scenario_replicasets(now),
        "endpoints": scenario_endpoints(now),
        "events": scenario_events(now),
        "networkpolicies": scenario_network_policies(now),
        "podmetrics": scenario_pod_metrics(now),
        "logs": scenario_logs(now),
        "errors": {},
    }


def template_pod(
    name: str, rs: str, template: dict, *, created: datetime, ready: bool, node: str, ip: str
) -> dict:
    """A pod the fake ReplicaSet controller made from a pod template (running; ready or not)."""
    containers = template["spec"]["containers"]
    since = {"running": {"startedAt": ts(created)}}
    statuses = [
        _container_status(c["name"], c["image"], ready=ready, restarts=0, state=since)
        for c in containers
    ]
    labels = {**template["metadata"].get("labels", {}), "pod-template-hash": rs.rsplit("-", 1)[1]}
    return _pod(
        name,
        rs,
        labels=labels,
        created=created,
        node=node,
        ip=ip,
        containers=containers,
        statuses=statuses,
        ready=ready,
    )
