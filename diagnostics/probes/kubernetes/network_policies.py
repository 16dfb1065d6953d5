"""kubernetes.network_policies: the NetworkPolicies whose podSelector selects the target's pods.

Each policy is listed with its types and a short reading of its rules. A policy of type Ingress
(or Egress) without rules denies all such traffic; that is the usual default-deny pattern when
other policies allow some, and cuts the pods off (warning) when none does.
"""

from __future__ import annotations

from .. import registry
from ..base import Check, ProbeResult, Status, Table
from .selectors import selector_matches, selector_string
from .session import KubernetesProbe, KubeSession
from .tables import MESSAGE_CHARS, bounded

DIRECTIONS = ("Ingress", "Egress")


def peer_text(peer) -> str:
    if peer.ip_block is not None:
        excepted = ", ".join(peer.ip_block._except or [])
        return f"{peer.ip_block.cidr} except {excepted}" if excepted else peer.ip_block.cidr
    parts = []
    if peer.namespace_selector is not None:
        parts.append(f"ns({selector_string(peer.namespace_selector) or 'all'})")
    if peer.pod_selector is not None:
        parts.append(f"pods({selector_string(peer.pod_selector) or 'all'})")
    return "/".join(parts)


def port_text(port) -> str:
    until = f"-{port.end_port}" if port.end_port else ""
    return f"{port.protocol or 'TCP'}/{port.port}{until}"


def rules_text(rules: list, direction: str) -> str:
    """A short reading of ingress or egress rules: "from pods(app=web) on TCP/8080; …"."""
    if not rules:
        return "deny all"
    texts = []
    for rule in rules:
        peers = rule._from if direction == "Ingress" else rule.to
        who = ", ".join(peer_text(p) for p in peers or []) or "anywhere"
        ports = ", ".join(port_text(p) for p in rule.ports or []) or "all ports"
        texts.append(f"{'from' if direction == 'Ingress' else 'to'} {who} on {ports}")
    return "; ".join(texts)[:MESSAGE_CHARS]


def policy_types(policy) -> list[str]:
    # The API defaults policyTypes to Ingress, plus Egress when egress rules exist.
    spec = policy.spec
    return spec.policy_types or (["Ingress", "Egress"] if spec.egress else ["Ingress"])


def rules_of(policy, direction: str) -> list:
    return (policy.spec.ingress if direction == "Ingress" else policy.spec.egress) or []


def target_labels(kube: KubeSession) -> list[dict]:
    """The label sets to test selectors against: the pods', else the pod template's."""
    labels = [pod.metadata.labels or {} for pod in kube.pods()]
    if not labels and kube.config.get("deployment"):
        labels = [kube.deployment().spec.template.metadata.labels or {}]
    return labels


@registry.register
class NetworkPoliciesProbe(KubernetesProbe):
    name = "kubernetes.network_policies"
    title = "Network policies selecting the pods"
    description = "NetworkPolicies whose podSelector selects the target's pods, with their rules."

    def inspect(self, kube: KubeSession, params: dict) -> ProbeResult:
        label_sets = target_labels(kube)
        policies = kube.list("networkpolicies", kube.networking.list_namespaced_network_policy)
        selecting = sorted(
            (
                p
                for p in policies
                if any(selector_matches(p.spec.pod_selector, s) for s in label_sets)
            ),
            key=lambda p: p.metadata.name,
        )
        columns = ["policy", "policy_types", "ingress", "egress", "finding"]
        table = Table("policies", "Network policies selecting the pods", columns, key=("policy",))
        denies: dict[str, list[str]] = {d: [] for d in DIRECTIONS}
        allows: dict[str, list[str]] = {d: [] for d in DIRECTIONS}
        for policy in selecting:
            types, name = policy_types(policy), policy.metadata.name
            readings, finding = {}, []
            for direction in DIRECTIONS:
                if direction not in types:
                    readings[direction] = ""
                    continue
                rules = rules_of(policy, direction)
                (allows if rules else denies)[direction].append(name)
                readings[direction] = rules_text(rules, direction)
                if not rules:
                    finding.append(f"denies all {direction.lower()}")
            table.add(
                name, ", ".join(types), readings["Ingress"], readings["Egress"], "; ".join(finding)
            )

        cut_off = [d.lower() for d in DIRECTIONS if denies[d] and not allows[d]]
        checks = [
            Check(
                "policies_selecting",
                "Network policies selecting the pods",
                len(selecting),
                Status.OK,
                "informational",
            ),
            Check(
                "traffic_fully_denied",
                "Directions with all traffic denied",
                ", ".join(cut_off) or "none",
                Status.WARNING if cut_off else Status.OK,
                "warning when deny-all policies select the pods and no policy allows any traffic",
            ),
        ]
        summary = f"{len(selecting)} of {len(policies)} network policies select {kube.subject()}"
        for direction in DIRECTIONS:
            if denies[direction]:
                allowing = len(allows[direction])
                allowed = f"{allowing} allow some" if allowing else "nothing allows any"
                summary += (
                    f"; {', '.join(denies[direction])} denies all {direction.lower()} ({allowed})"
                )
        raw = {
            "policies": len(policies),
            "selecting": [p.metadata.name for p in selecting],
            "deny_all": {d.lower(): names for d, names in denies.items() if names},
            "fully_denied": cut_off,
        }
        return ProbeResult.from_checks(
            summary, checks, tables=[bounded(table, table.rows)], raw=raw
        )
