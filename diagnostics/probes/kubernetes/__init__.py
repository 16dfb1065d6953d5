"""Kubernetes probes: pods, rollout, endpoints, warning events, resources, network policies, logs.

One module per probe; `session` holds what they share — the per-run API client, the deadline
and the translation of API failures — and `quantities`, `selectors` and `tables` the small
parsers and result helpers. Importing this package registers every probe.

The pods of a target are those matching its `label_selector`, or its deployment's
`spec.selector` when only a deployment is given. A named deployment or service that does not
exist is a finding (status critical), not an outage of the probe.
"""

from . import endpoints, events, logs, network_policies, pods, resources, rollout
from .quantities import parse_quantity
from .selectors import selector_matches, selector_string
from .session import KubeApiError, KubernetesProbe, KubeSession, ObjectNotFound, build_api_client

__all__ = [
    "KubeApiError",
    "KubeSession",
    "KubernetesProbe",
    "ObjectNotFound",
    "build_api_client",
    "endpoints",
    "events",
    "logs",
    "network_policies",
    "parse_quantity",
    "pods",
    "resources",
    "rollout",
    "selector_matches",
    "selector_string",
]
