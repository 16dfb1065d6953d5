"""Builders for maintenance tests: a checklist template, a window, fixed times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from maintenance import services
from maintenance.models import ChecklistKind, ChecklistTemplate, ChecklistTemplateItem, Phase

T0 = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def small_template(slug="test-checklist") -> ChecklistTemplate:
    """Two required pre items, one optional during item, one required post item."""
    template = ChecklistTemplate.objects.create(
        name=f"Checklist {slug}", slug=slug, kind=ChecklistKind.MAINTENANCE
    )
    for position, (phase, title, required) in enumerate(
        [
            (Phase.PRE, "Notify stakeholders", True),
            (Phase.PRE, "Back up critical data", True),
            (Phase.DURING, "Monitor health", False),
            (Phase.POST, "Verify end to end", True),
        ]
    ):
        ChecklistTemplateItem.objects.create(
            template=template, phase=phase, title=title, required=required, position=position
        )
    return template


def plan(by, services_, *, start=T0, hours=2, template=None, **kwargs):
    kwargs.setdefault("title", "Upgrade the database")
    kwargs.setdefault("rollback_plan", "Restore the snapshot taken before.")
    return services.window_create(
        services=services_,
        scheduled_start=start,
        scheduled_end=start + hours * HOUR,
        by=by,
        template=template or small_template(f"t-{ChecklistTemplate.objects.count()}"),
        now=start - 48 * HOUR,
        **kwargs,
    )


def tick_all(window, by, phase):
    for item in window.checklist.filter(phase=phase):
        services.checklist_item_set(item=item, done=True, by=by)
