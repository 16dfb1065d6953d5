"""One probe run's connection to a cluster, and the base class every Kubernetes probe shares.

Each run builds its own `ApiClient` from the target's config — the pod's service account
(`connection=in_cluster`) or a kubeconfig file and context — and closes it afterwards. The
library's global default configuration is never touched: targets live in different clusters
and probes run in parallel threads. Every call is a GET with a request timeout taken from what
is left of the probe's budget, and every list is bounded with `limit`.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from ..base import Check, Probe, ProbeConfigError, ProbeResult, ProbeUnreachable, Status
from .selectors import selector_string

LIST_LIMIT = 500  # objects per list call; a namespace holding more is cut, with a warning


class KubeApiError(ProbeUnreachable):
    """The API server answered with an error status."""

    def __init__(self, message: str, *, status: int, api_message: str = ""):
        super().__init__(message)
        self.status = status
        self.api_message = api_message


class ObjectNotFound(Exception):
    """A named object of the target does not exist: reported as a critical finding."""

    def __init__(self, kind: str, name: str, namespace: str):
        super().__init__(f"{kind} {name} not found in namespace {namespace}")
        self.kind, self.name, self.namespace = kind, name, namespace

    def as_result(self) -> ProbeResult:
        exists = f"{self.kind} {self.name} exists"
        check = Check("object_exists", exists, "no", Status.CRITICAL, "critical when missing")
        missing = {"kind": self.kind, "name": self.name, "namespace": self.namespace}
        return ProbeResult(Status.CRITICAL, str(self), checks=[check], raw={"missing": missing})


def build_api_client(config: dict) -> k8s.ApiClient:
    """A fresh ApiClient for this target; the library's default configuration stays untouched."""
    configuration = k8s.Configuration()
    # urllib3 retries a failed connection 3 times by default; the probe's budget is small and
    # the runner reports the failure, so fail on the first attempt.
    configuration.retries = 0
    try:
        if config["connection"] == "kubeconfig":
            return k8s_config.new_client_from_config(
                config_file=config["kubeconfig_path"],
                context=config.get("context"),
                persist_config=False,  # a read-only probe never rewrites the kubeconfig
                client_configuration=configuration,
            )
        k8s_config.load_incluster_config(client_configuration=configuration)
    except (ConfigException, OSError) as exc:
        raise ProbeConfigError(f"cannot load Kubernetes credentials: {exc}") from None
    return k8s.ApiClient(configuration)


def describe_transport_failure(exc: urllib3.exceptions.HTTPError, server: str) -> str:
    reason = getattr(exc, "reason", None) or exc  # MaxRetryError wraps the real cause
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        refused = "refused" in str(reason).lower()
        return f"connection refused: {server}" if refused else f"cannot connect to {server}"
    if isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
        return f"timed out connecting to {server}"
    if isinstance(reason, urllib3.exceptions.ReadTimeoutError | TimeoutError):
        return f"timed out waiting for {server}"
    if isinstance(reason, urllib3.exceptions.SSLError):
        return f"TLS error talking to {server}"
    return f"cannot reach the Kubernetes API at {server}"


def api_message(exc: ApiException) -> str:
    """The `message` of the Status object the API server sent, else the HTTP reason."""
    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.reason or "")
    except (ValueError, AttributeError):
        return str(exc.reason or "")


class KubeSession:
    """One probe run's view of the cluster: its client, its deadline, and error translation."""

    def __init__(self, config: dict, timeout_s: float):
        self.config = config
        self.namespace: str = config["namespace"]
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.api_client = build_api_client(config)
        host = self.api_client.configuration.host
        self.server = urlsplit(host).netloc or host
        self.core = k8s.CoreV1Api(self.api_client)
        self.apps = k8s.AppsV1Api(self.api_client)
        self.networking = k8s.NetworkingV1Api(self.api_client)
        self.custom = k8s.CustomObjectsApi(self.api_client)
        self.warnings: list[str] = []
        self._deployment = None
        self._pods: list | None = None

    def __enter__(self) -> KubeSession:
        return self

    def __exit__(self, *exc_info) -> None:
        self.api_client.close()
        self.api_client.rest_client.pool_manager.clear()  # close() leaves the sockets open

    def request_timeout(self) -> tuple[float, float]:
        # A (connect, read) pair: the client silently ignores a float given alone.
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ProbeUnreachable(f"timed out after {self.timeout_s:g}s talking to {self.server}")
        return (left, left)

    def call(self, action: str, method, **kwargs):
        """One read call of the client; failures become ProbeUnreachable / KubeApiError."""
        try:
            return method(_request_timeout=self.request_timeout(), **kwargs)
        except ApiException as exc:
            raise self._api_error(action, exc) from None
        except urllib3.exceptions.HTTPError as exc:
            raise ProbeUnreachable(describe_transport_failure(exc, self.server)) from None
        except ValueError as exc:  # the client could not deserialise the answer
            raise ProbeUnreachable(f"unexpected answer to {action}: {exc}"[:300]) from None

    def _api_error(self, action: str, exc: ApiException) -> KubeApiError:
        message = api_message(exc)
        if exc.status == 401:
            text = f"unauthorized: the API server at {self.server} rejected the credentials"
        elif exc.status == 403:
            text = f"forbidden: the service account may not {action} in {self.namespace}"
        else:
            text = f"Kubernetes API answered {exc.status} to {action}: {message}"[:300]
        return KubeApiError(text, status=exc.status, api_message=message)

    def list(self, resource: str, method, **kwargs) -> list:
        action = f"list {resource}"
        listing = self.call(action, method, namespace=self.namespace, limit=LIST_LIMIT, **kwargs)
        if listing.metadata is not None and listing.metadata._continue:
            self.warnings.append(f"more than {LIST_LIMIT} {resource}: only {LIST_LIMIT} were read")
        return listing.items or []

    def read(self, kind: str, resource: str, method, name: str):
        try:
            return self.call(f"get {resource}", method, name=name, namespace=self.namespace)
        except KubeApiError as exc:
            if exc.status == 404:
                raise ObjectNotFound(kind, name, self.namespace) from None
            raise

    def deployment(self):
        if self._deployment is None:
            name = self.config.get("deployment")
            if not name:
                raise ProbeConfigError("the target config names no deployment")
            read = self.apps.read_namespaced_deployment
            self._deployment = self.read("deployment", "deployments", read, name)
        return self._deployment

    def pod_selector(self) -> str:
        return self.config.get("label_selector") or selector_string(self.deployment().spec.selector)

    def pods(self) -> list:
        if self._pods is None:
            list_pods = self.core.list_namespaced_pod
            self._pods = self.list("pods", list_pods, label_selector=self.pod_selector())
        return self._pods

    def subject(self) -> str:
        """How summaries name the target's pods: the deployment, else the selector."""
        return self.config.get("deployment") or self.config.get("label_selector", "")


class KubernetesProbe(Probe):
    """Opens a session per run, turns a missing named object into a critical result."""

    kind = "kubernetes"

    def run(self, target, params: dict, timeout_s: float) -> ProbeResult:
        with KubeSession(target.config, timeout_s) as kube:
            try:
                result = self.inspect(kube, params)
            except ObjectNotFound as missing:
                result = missing.as_result()
            result.warnings = [*kube.warnings, *result.warnings]
            return result

    def inspect(self, kube: KubeSession, params: dict) -> ProbeResult:
        raise NotImplementedError
