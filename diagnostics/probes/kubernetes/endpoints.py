"""kubernetes.endpoints: the ready and not-ready addresses behind the target's service.

Critical when no address is ready (the service answers nothing, typically a 503 upstream);
warning when some are not ready.
"""

from __future__ import annotations

from .. import registry
from ..base import Check, ProbeConfigError, ProbeResult, Status, Table, level
from .session import KubernetesProbe, KubeSession
from .tables import bounded


def port_text(port) -> str:
    name = f"{port.name} " if port.name else ""
    return f"{name}{port.port}/{port.protocol or 'TCP'}"


def address_rows(endpoints) -> list[list]:
    """[pod, address, node, ready, ports] per address, not-ready ones first."""
    rows = []
    for subset in endpoints.subsets or []:
        ports = ", ".join(port_text(p) for p in subset.ports or [])
        for ready, addresses in (("no", subset.not_ready_addresses), ("yes", subset.addresses)):
            for address in addresses or []:
                pod = address.target_ref.name if address.target_ref else ""
                rows.append([pod, address.ip, address.node_name or "", ready, ports])
    return rows


@registry.register
class EndpointsProbe(KubernetesProbe):
    name = "kubernetes.endpoints"
    title = "Service endpoints ready"
    description = "Ready and not-ready addresses behind the target's service."

    def applies_to(self, target) -> bool:
        return bool(target.config.get("service"))

    def inspect(self, kube: KubeSession, params: dict) -> ProbeResult:
        service = kube.config.get("service")
        if not service:
            raise ProbeConfigError("the target config names no service")
        read = kube.core.read_namespaced_endpoints
        endpoints = kube.read("endpoints of service", "endpoints", read, service)
        rows = address_rows(endpoints)
        ready = sum(1 for row in rows if row[3] == "yes")
        not_ready = len(rows) - ready
        ports = list(
            dict.fromkeys(port_text(p) for s in endpoints.subsets or [] for p in s.ports or [])
        )
        checks = [
            Check(
                "ready_addresses",
                "Ready addresses",
                ready,
                Status.CRITICAL if ready == 0 else Status.OK,
                "critical at 0",
            ),
            Check(
                "not_ready_addresses",
                "Not-ready addresses",
                not_ready,
                level(not_ready, warning=1),
                "warning ≥ 1",
            ),
        ]
        port_list = ", ".join(ports) or "no ports"
        summary = f"service {service}: {ready} ready, {not_ready} not ready ({port_list})"
        columns = ["pod", "address", "node", "ready", "ports"]
        table = bounded(
            Table("addresses", "Endpoint addresses", columns, key=("pod", "address")), rows
        )
        raw = {"ready": ready, "not_ready": not_ready, "ports": ports}
        return ProbeResult.from_checks(summary, checks, tables=[table], raw=raw)
