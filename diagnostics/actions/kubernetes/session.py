"""One action run's connection to the cluster: the probes' session, plus writes and raw reads.

Actions reuse `KubeSession` (the per-run ApiClient built from the target's kubeconfig or
service account, request timeouts from the run's budget, API failures translated into
`ProbeUnreachable` / `KubeApiError`). On top of it: the deployment the action works on (a
missing one is a refusal, not an outage), raw JSON reads where a rollback must copy a pod
template field for field (the client's models drop fields they do not know, and a template
written back through them could lose some), and PATCH calls that name us as field manager.
"""

from __future__ import annotations

import json
import time

from diagnostics.probes.base import ProbeUnreachable
from diagnostics.probes.kubernetes.session import KubeApiError, KubeSession

from ..base import ActionRefused

FIELD_MANAGER = "ops-portal"  # recorded in the object's managedFields: who changed it
STRATEGIC_MERGE = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def deployment_name(config: dict) -> str:
    name = config.get("deployment")
    if not name:
        raise ActionRefused("this target names no deployment: Kubernetes actions need one")
    return name


def deployment_path(config: dict) -> str:
    return f"/apis/apps/v1/namespaces/{config['namespace']}/deployments/{deployment_name(config)}"


def planned_request(preview: dict, config: dict, suffix: str = "") -> dict:
    """The request a stored preview holds, after checking it was made for this deployment."""
    request = (preview or {}).get("details", {})
    if request.get("path") != deployment_path(config) + suffix:
        raise ActionRefused("the preview was made for another deployment: preview again")
    return request


class ActionSession(KubeSession):
    """A KubeSession whose budget can be renewed per workflow step."""

    def __init__(self, config: dict, timeout_s: float):
        self.name = deployment_name(config)
        super().__init__(config, timeout_s)

    def renew(self, timeout_s: float) -> None:
        """Give the next calls a fresh budget (each step of a workflow has its own)."""
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s

    def refused_when_missing(self, exc: KubeApiError, kind: str = "deployment") -> Exception:
        if exc.status == 404:
            return ActionRefused(f"{kind} {self.name} not found in namespace {self.namespace}")
        return exc

    def read_deployment(self):
        return self._read_own("get deployments", self.apps.read_namespaced_deployment)

    def read_scale(self):
        return self._read_own("get deployments/scale", self.apps.read_namespaced_deployment_scale)

    def _read_own(self, action: str, method, *, raw: bool = False):
        """GET the target's deployment (or its scale); a 404 is a refusal, not an outage."""
        read = self.raw if raw else self.call
        try:
            return read(action, method, name=self.name, namespace=self.namespace)
        except KubeApiError as exc:
            raise self.refused_when_missing(exc) from None

    def raw(self, action: str, method, **kwargs) -> dict:
        """One GET answered as the server's JSON, every field kept."""
        response = self.call(action, method, _preload_content=False, **kwargs)
        try:
            return json.loads(response.data)
        except ValueError:
            raise ProbeUnreachable(f"unexpected answer to {action}: not JSON") from None
        finally:
            response.release_conn()

    def raw_deployment(self) -> dict:
        return self._read_own("get deployments", self.apps.read_namespaced_deployment, raw=True)

    def patch(self, action: str, method, body, **kwargs):
        """One PATCH; the client picks the content type from the body (dict: strategic merge,
        list: JSON Patch)."""
        return self.call(
            action,
            method,
            name=self.name,
            namespace=self.namespace,
            body=body,
            field_manager=FIELD_MANAGER,
            **kwargs,
        )
