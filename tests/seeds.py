"""Re-apply the data migrations' seeds after a transactional test flushed the tables."""

from __future__ import annotations

import importlib

from django.apps import apps

# Data migrations whose rows the app relies on, in order: (module, function).
SEEDS = [
    ("incidents.migrations.0002_seed_policy_and_playbook", "seed"),
    ("incidents.migrations.0004_policy_escalate_overdue_tasks", "p3_tasks_do_not_escalate"),
    ("incidents.migrations.0005_policy_require_diagnosis", "require_for_high_severities"),
    ("diagnostics.migrations.0002_seed_runbooks", "seed"),
    ("maintenance.migrations.0002_seed_checklists", "seed"),
]


def reseed() -> None:
    for module, function in SEEDS:
        getattr(importlib.import_module(module), function)(apps, None)
