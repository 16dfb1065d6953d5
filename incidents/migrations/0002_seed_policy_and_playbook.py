"""Seed the P0–P3 severity policy and the five-step playbook's task templates (ARCHITECTURE §3)."""

from django.db import migrations

POLICIES = [
    {
        "level": "P0", "name": "Critical", "response_minutes": 15, "escalate_after_minutes": 0,
        "escalate_next_business_day": False, "requires_postmortem": True,
        "description": "Complete outage: the product or a core capability is down for everyone.",
        "examples": "Payments down; whole site down; data breach.",
    },
    {
        "level": "P1", "name": "High", "response_minutes": 60, "escalate_after_minutes": 30,
        "escalate_next_business_day": False, "requires_postmortem": True,
        "description": "Major functionality impaired for many customers.",
        "examples": "Search down; order creation failing; high error rates.",
    },
    {
        "level": "P2", "name": "Medium", "response_minutes": 240, "escalate_after_minutes": 120,
        "escalate_next_business_day": False, "requires_postmortem": False,
        "description": "Minor functionality impaired; a workaround exists.",
        "examples": "Slow responses; a non-critical feature down.",
    },
    {
        "level": "P3", "name": "Low", "response_minutes": 1440, "escalate_after_minutes": None,
        "escalate_next_business_day": True, "requires_postmortem": False,
        "description": "Cosmetic or low-impact issue.",
        "examples": "Typo on a page; a misaligned button; a noisy but harmless alert.",
    },
]

# (step, created on entering status, title, due minutes after that)
TEMPLATES = [
    ("acknowledge", "triggered", "Acknowledge the incident", 5),
    ("acknowledge", "triggered", "Open the incident record and assign a commander", 5),
    ("acknowledge", "triggered", "Notify stakeholders (Slack and email)", 15),
    ("assess", "acknowledged", "Scope the impact: affected services and users", 15),
    ("assess", "acknowledged", "Confirm the severity classification", 15),
    ("assess", "acknowledged", "Estimate customer impact", 30),
    ("communicate", "acknowledged", "Post the first stakeholder update", 30),
    ("mitigate", "mitigating", "Apply a workaround", 30),
    ("mitigate", "mitigating", "Scale resources if capacity is the cause", 30),
    ("mitigate", "mitigating", "Roll back the recent change if it is implicated", 30),
    ("resolve", "resolved", "Identify the root cause", 24 * 60),
    ("resolve", "resolved", "Ship the permanent fix", 72 * 60),
    ("resolve", "resolved", "Verify the fix in production", 24 * 60),
    ("communicate", "resolved", "Send the resolution update to stakeholders", 60),
    ("communicate", "resolved", "Write the postmortem", 48 * 60),
    ("communicate", "resolved", "Record action items to prevent recurrence", 48 * 60),
]


# Tasks the transition itself accomplishes.
AUTO_COMPLETE = {"Acknowledge the incident": "acknowledged"}


def seed(apps, schema_editor):
    SeverityPolicy = apps.get_model("incidents", "SeverityPolicy")
    TaskTemplate = apps.get_model("incidents", "TaskTemplate")
    for policy in POLICIES:
        SeverityPolicy.objects.update_or_create(level=policy["level"], defaults=policy)
    if not TaskTemplate.objects.exists():
        for position, (step, on_status, title, due) in enumerate(TEMPLATES, start=1):
            TaskTemplate.objects.create(
                step=step,
                on_status=on_status,
                title=title,
                due_minutes=due,
                position=position,
                completed_on_status=AUTO_COMPLETE.get(title, ""),
            )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
