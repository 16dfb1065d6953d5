"""Kubernetes remediation actions: rollout restart, scale, and roll back with its workflow.

One module per action; `session` extends the probes' per-run session with writes and raw
reads, `workflow` holds the emergency rollback workflow, `findings` reads stored probe results
for suggestions. Importing this package registers every action.
"""

from . import restart, rollback, scale
from .restart import RolloutRestart
from .rollback import Rollback
from .scale import Scale

__all__ = ["Rollback", "RolloutRestart", "Scale", "restart", "rollback", "scale"]
