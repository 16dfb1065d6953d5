"""A small stand-in for the Kubernetes API server, for probe and remediation tests.

No API server can run on the test machines, so this answers the REST paths the official
`kubernetes` client calls with the JSON shapes a real API server returns (`kind`, `apiVersion`,
`metadata` with resourceVersion and creationTimestamp, `items` for lists, a `Status` object for
errors), and records every request so a test can assert what was sent.

    with FakeKubeApi() as api:
        kubeconfig = api.write_kubeconfig(tmp_path)    # points the real client at us
        ...
        api.fail("pods", 403)                          # make one resource answer an error
        api.fail("deployments", 403, method="PATCH")   # … or only one verb on it
        api.state["podmetrics"] = []                   # or change the scenario data
        assert {r.method for r in api.requests} == {"GET"}

PATCH understands the three patch types by Content-Type: strategic merge (maps merged, enough
for annotations and replicas), JSON merge and JSON Patch (RFC 6902: add/replace/remove/test,
applied atomically; a failed `test` answers 422 like the API server). With
`api.run_controller(reads=N)` a PATCH that changes a deployment's pod template starts a
rollout that completes on the N-th GET of the deployment afterwards, as the deployment and
ReplicaSet controllers would: the ReplicaSet with that template (an old one, renumbered, or a
new one) gets the next revision and all the replicas, the deployment's status and revision
catch up, and the old pods are replaced by pods of the template: ready, or with
`pods_ready=False` not ready (as when pods fail again after the controller counted them).
`reads=None` leaves the rollout stuck (the controller never observes it).

The scenario (`scenario(now)`) is the `checkout` deployment in namespace `shop` in the middle of
a rollout that stalls: 3 desired, 2 updated, 1 available; one old pod healthy, one new pod in
CrashLoopBackOff and one new pod OOMKilled; plus a `cart` pod that the selectors must leave out.
"""

from __future__ import annotations

import copy
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .kube_controllers import DISCOVERY, observe_rollout, start_rollout
from .kube_scenario import scenario

# resource → (kind of its list, apiVersion); single objects drop the "List" suffix.
KINDS = {
    "pods": ("PodList", "v1"),
    "events": ("EventList", "v1"),
    "endpoints": ("EndpointsList", "v1"),
    "deployments": ("DeploymentList", "apps/v1"),
    "replicasets": ("ReplicaSetList", "apps/v1"),
    "networkpolicies": ("NetworkPolicyList", "networking.k8s.io/v1"),
    "podmetrics": ("PodMetricsList", "metrics.k8s.io/v1beta1"),
    "horizontalpodautoscalers": ("HorizontalPodAutoscalerList", "autoscaling/v2"),
}
GROUPS = {
    "deployments": "apps",
    "replicasets": "apps",
    "networkpolicies": "networking.k8s.io",
    "horizontalpodautoscalers": "autoscaling",
}
JSON_PATCH = "application/json-patch+json"
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    422: "Invalid",
    500: "InternalError",
    503: "ServiceUnavailable",
}

ROUTES = [
    (re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods$"), "list", "pods"),
    (re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)/log$"), "log", "pods"),
    (re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)$"), "get", "pods"),
    (re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/events$"), "list", "events"),
    (
        re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/endpoints/(?P<name>[^/]+)$"),
        "get",
        "endpoints",
    ),
    (
        re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/deployments/(?P<name>[^/]+)$"),
        "get",
        "deployments",
    ),
    (
        re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/deployments/(?P<name>[^/]+)/scale$"),
        "scale",
        "deployments",
    ),
    (re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/replicasets$"), "list", "replicasets"),
    (
        re.compile(r"^/apis/networking\.k8s\.io/v1/namespaces/(?P<ns>[^/]+)/networkpolicies$"),
        "list",
        "networkpolicies",
    ),
    (
        re.compile(r"^/apis/metrics\.k8s\.io/v1beta1/namespaces/(?P<ns>[^/]+)/pods$"),
        "list",
        "podmetrics",
    ),
    (
        re.compile(r"^/apis/autoscaling/v2/namespaces/(?P<ns>[^/]+)/horizontalpodautoscalers$"),
        "list",
        "horizontalpodautoscalers",
    ),
]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str | None
    authorization: str | None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class FakeKubeApi:
    """The fake API server: a ThreadingHTTPServer on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, state: dict | None = None, *, now: datetime | None = None):
        self.now = now or datetime.now(UTC).replace(microsecond=0)
        self.state = state if state is not None else scenario(self.now)
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the loop to notice, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeKubeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def fail(self, resource: str, status: int, *, method: str | None = None) -> None:
        """Answer every request for `resource` (a KINDS key, or "log") with this HTTP status;
        with `method`, only the requests of that verb (PATCH, GET)."""
        key = f"{method} {resource}" if method else resource
        self.state.setdefault("errors", {})[key] = status

    def run_controller(self, *, reads: int | None, pods_ready: bool = True) -> None:
        """Let template changes roll out: complete on the `reads`-th GET (None: never)."""
        self.state["controller"] = {"reads": reads, "pods_ready": pods_ready, "pending": None}

    def record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def requests_to(self, path_part: str) -> list[Recorded]:
        return [r for r in self.requests if path_part in r.path]

    def write_kubeconfig(self, directory: Path, *, token: str = "test-token") -> Path:
        """A kubeconfig (JSON is valid YAML) with three contexts.

        `fake` points at this server with a bearer token; `closed` at a port nothing listens
        on; the current context is `closed`, so a probe reaches us only when it honours the
        target's `context`.
        """
        user = {"name": "portal", "user": {"token": token}}
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "fake", "cluster": {"server": self.url}},
                {"name": "closed", "cluster": {"server": f"http://127.0.0.1:{closed_port()}"}},
            ],
            "users": [user],
            "contexts": [
                {"name": "fake", "context": {"cluster": "fake", "user": "portal"}},
                {"name": "closed", "context": {"cluster": "closed", "user": "portal"}},
            ],
            "current-context": "closed",
        }
        path = Path(directory) / "kubeconfig"
        path.write_text(json.dumps(kubeconfig))
        return path


def closed_port() -> int:
    """A loopback port that was free a moment ago and has no listener now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _handler_for(api: FakeKubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # keep test output clean
            pass

        def do_GET(self):
            self._serve()

        def do_PATCH(self):
            self._serve()

        def do_POST(self):
            self._serve()

        def do_PUT(self):
            self._serve()

        def do_DELETE(self):
            self._serve()

        def _serve(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Recorded(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                content_type=self.headers.get("Content-Type"),
                authorization=self.headers.get("Authorization"),
                body=body,
                headers=dict(self.headers.items()),
            )
            api.record(request)
            status, payload, content_type = answer(api.state, request)
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


# --- answering ---------------------------------------------------------------------------------


def answer(state: dict, request: Recorded) -> tuple[int, dict | bytes, str]:
    """(status, JSON payload or bytes, content type) for one request."""
    if request.path in DISCOVERY:
        return 200, DISCOVERY[request.path], "application/json"
    match, action, resource = _route(request.path)
    if match is None:
        return _status(404, "the server could not find the requested resource")
    namespace, name = match.group("ns"), match.groupdict().get("name")
    errors, failing = state.get("errors", {}), "log" if action == "log" else resource
    forced = errors.get(f"{request.method} {failing}") or errors.get(failing)
    if forced:
        return _forced_error(forced, resource, namespace, request.method, name)
    if resource == "podmetrics" and state.get("podmetrics") is None:
        return _status(404, "the server could not find the requested resource")
    allowed = ("GET",) if action in ("list", "log") else ("GET", "PATCH")
    if request.method not in allowed:
        return _status(405, f"{request.method} is not supported here", "MethodNotAllowed")
    if action == "list":
        return _list(state, resource, namespace, request)
    item = _find(state, resource, namespace, name)
    if item is None:
        group = GROUPS.get(resource, "")
        what = f"{resource}.{group}" if group else resource
        return _status(
            404,
            f'{what} "{name}" not found',
            "NotFound",
            {"name": name, "group": group, "kind": resource},
        )
    if action == "log":
        return _log(state, item, request)
    if action == "scale":
        return _scale(item, request)
    if request.method == "PATCH":
        template_before = copy.deepcopy(item.get("spec", {}).get("template"))
        failed = _patch(item, request)
        if failed:
            return failed
        item["metadata"]["generation"] = item["metadata"].get("generation", 1) + 1
        if resource == "deployments" and item["spec"].get("template") != template_before:
            start_rollout(state)
    elif resource == "deployments":
        observe_rollout(state, item)
    kind, api_version = KINDS[resource]
    return (
        200,
        {"kind": kind.removesuffix("List"), "apiVersion": api_version, **item},
        "application/json",
    )


def _route(path: str):
    for pattern, action, resource in ROUTES:
        match = pattern.match(path)
        if match:
            return match, action, resource
    return None, None, None


def _list(state: dict, resource: str, namespace: str, request: Recorded):
    items = [i for i in state.get(resource) or [] if i["metadata"].get("namespace") == namespace]
    selector = request.param("labelSelector")
    if selector:
        items = [i for i in items if labels_match(selector, i["metadata"].get("labels") or {})]
    fields = request.param("fieldSelector")
    if fields:
        items = [i for i in items if fields_match(fields, i)]
    kind, api_version = KINDS[resource]
    metadata: dict = {"resourceVersion": "184467"}
    limit = int(request.param("limit") or 0)
    if limit and len(items) > limit:
        metadata["continue"] = "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTg0NDY3fQ"
        metadata["remainingItemCount"] = len(items) - limit
        items = items[:limit]
    return (
        200,
        {"kind": kind, "apiVersion": api_version, "metadata": metadata, "items": items},
        "application/json",
    )


def _find(state: dict, resource: str, namespace: str, name: str) -> dict | None:
    for item in state.get(resource) or []:
        meta = item["metadata"]
        if meta["name"] == name and meta.get("namespace") == namespace:
            return item
    return None


def _log(state: dict, pod: dict, request: Recorded):
    containers = [c["name"] for c in pod["spec"]["containers"]]
    container = request.param("container")
    name = pod["metadata"]["name"]
    if container is None:
        if len(containers) > 1:
            choices = " ".join(containers)
            return _status(
                400,
                f"a container name must be specified for pod {name}, choose one of: [{choices}]",
                "BadRequest",
            )
        container = containers[0]
    if container not in containers:
        return _status(400, f"container {container} is not valid for pod {name}", "BadRequest")
    text = state.get("logs", {}).get(f"{name}/{container}", "")
    lines = text.splitlines(keepends=True)
    tail = request.param("tailLines")
    if tail is not None:
        lines = lines[-int(tail) :] if int(tail) else []
    data = "".join(lines).encode()
    limit = request.param("limitBytes")
    if limit is not None:
        data = data[: int(limit)]
    return 200, data, "text/plain"


def _scale(deployment: dict, request: Recorded):
    if request.method == "PATCH":
        replicas = json.loads(request.body or b"{}").get("spec", {}).get("replicas")
        if replicas is not None:
            deployment["spec"]["replicas"] = replicas
    meta = deployment["metadata"]
    scale = {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        },
        "spec": {"replicas": deployment["spec"]["replicas"]},
        "status": {"replicas": deployment["status"].get("replicas", 0), "selector": "app=checkout"},
    }
    return 200, scale, "application/json"


def _merge(target: dict, patch: dict) -> None:
    """Strategic merge patch, as far as maps go (enough for annotations and replicas)."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif value is None:
            target.pop(key, None)  # null deletes a key, in both merge patch types
        else:
            target[key] = value


def _patch(item: dict, request: Recorded):
    """Apply a PATCH to `item` in place; an error answer when the patch does not apply."""
    content_type = (request.content_type or "").split(";")[0].strip()
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return _status(400, "the body of the request was in an unknown format", "BadRequest")
    if content_type == JSON_PATCH:
        if not isinstance(body, list):
            return _status(400, "json: cannot unmarshal object into Go value", "BadRequest")
        patched, error = _json_patch(item, body)
        if error:
            return _status(422, error)
        item.clear()
        item.update(patched)
    elif isinstance(body, dict):
        _merge(item, body)
    else:
        return _status(400, f"a {content_type or 'patch'} body must be an object", "BadRequest")
    return None


def _json_patch(document: dict, operations: list) -> tuple[dict, str | None]:
    """RFC 6902 on a copy: the patched copy, or the API server's error text (nothing applied)."""
    patched = copy.deepcopy(document)
    for operation in operations:
        op, path = operation.get("op"), operation.get("path", "")
        keys = [k.replace("~1", "/").replace("~0", "~") for k in path.split("/")[1:]]
        parent = patched
        for key in keys[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or not keys:
            return document, f"{op} operation does not apply: doc is missing path: {path}"
        key = keys[-1]
        if op == "test":
            if parent.get(key) != operation.get("value"):
                return document, f"testing value {path} failed: test failed"
        elif op in ("add", "replace"):
            if op == "replace" and key not in parent:
                return document, f"replace operation does not apply: doc is missing key: {path}"
            parent[key] = copy.deepcopy(operation.get("value"))
        elif op == "remove":
            if key not in parent:
                return document, f"remove operation does not apply: doc is missing key: {path}"
            del parent[key]
        else:
            return document, f"unexpected kind: {op}"
    return patched, None


def _status(code: int, message: str, reason: str | None = None, details: dict | None = None):
    payload = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or REASONS.get(code, "Unknown"),
        "code": code,
    }
    if details:
        payload["details"] = details
    return code, payload, "application/json"


def _forced_error(code: int, resource: str, namespace: str, method: str, name: str | None):
    if code == 400 and name:
        message = f'container "checkout" in pod "{name}" is waiting to start: ContainerCreating'
        return _status(400, message, "BadRequest")
    if code == 401:
        return _status(401, "Unauthorized")
    if code == 403:
        group = GROUPS.get(resource, "")
        verb = method.lower() if method != "GET" else "get" if name else "list"
        user = "system:serviceaccount:ops:ops-portal"
        message = f'{resource} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group "{group}" in the namespace "{namespace}"'
        return _status(403, message, "Forbidden", {"kind": resource})
    if code == 503:
        return _status(503, "the server is currently unable to handle the request")
    if code == 404:
        return _status(404, "the server could not find the requested resource")
    return _status(code, "Internal error occurred: etcdserver: request timed out")


# --- selectors -----------------------------------------------------------------------------------

SET_TERM = re.compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s+\((?P<values>[^)]*)\)$")


def labels_match(selector: str, labels: dict) -> bool:
    """Evaluate a label selector string: =, ==, !=, in, notin, key, !key."""
    return all(_term_matches(term.strip(), labels) for term in _split(selector) if term.strip())


def _term_matches(term: str, labels: dict) -> bool:
    set_term = SET_TERM.match(term)
    if set_term:
        values = {v.strip() for v in set_term["values"].split(",")}
        present = set_term["key"] in labels and labels[set_term["key"]] in values
        return present if set_term["op"] == "in" else not present
    if "!=" in term:
        key, value = (p.strip() for p in term.split("!=", 1))
        return labels.get(key) != value
    if "=" in term:
        key, value = (p.strip() for p in term.replace("==", "=").split("=", 1))
        return labels.get(key) == value
    if term.startswith("!"):
        return term[1:] not in labels
    return term in labels


def _split(selector: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    return [*terms, current]


def fields_match(selector: str, item: dict) -> bool:
    """Field selectors: `path=value` / `path!=value` on dotted paths (type, involvedObject.name…)."""
    for term in selector.split(","):
        negate = "!=" in term
        path, value = term.split("!=" if negate else "=", 1)
        actual = item
        for part in path.strip().split("."):
            actual = actual.get(part) if isinstance(actual, dict) else None
        if (str(actual) == value.strip()) == negate:
            return False
    return True
