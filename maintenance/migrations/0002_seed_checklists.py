"""Seed the guide's maintenance checklist and its three recovery procedures.

Re-running `seed` (tests reseed after a flush) updates the rows by slug and each item by its
template, phase and title. The maintenance checklist only becomes the default when no other
template already is, so re-seeding never creates a second default.

Recovery items name the incident playbook step (incidents.models.Step) their task lands in and
how many minutes after attaching it is due.
"""

from django.db import migrations

REQUIRED = True

MAINTENANCE = {
    "slug": "standard-maintenance",
    "name": "Standard maintenance",
    "description": (
        "The operations guide's planned-maintenance checklist. Every new window gets a copy; "
        "required *before* items must be ticked before the window can start."
    ),
    # phase: [(title, required, description)]
    "items": {
        "pre": [
            (
                "Notify stakeholders 24 h in advance",
                REQUIRED,
                "Owners of the affected services, support and customer-facing teams know what "
                "changes, when, for how long and what users will notice, at least 24 hours "
                "before the start. Public windows send the 24 h notice automatically; tick this "
                "once it has gone out and teams it does not reach have been told directly.",
            ),
            (
                "Create the maintenance window in monitoring",
                REQUIRED,
                "Expected alerts will not page anyone: silences or downtimes are set in the "
                "monitoring tools for the affected services and end with the window. Alerts "
                "routed through the portal are suppressed for services in an active window; "
                "done means the tools outside the portal are covered too.",
            ),
            (
                "Prepare and document the rollback plan",
                REQUIRED,
                "The window's rollback plan says how to get back to the previous state, who "
                "decides to roll back, the point of no return and how long a rollback takes. "
                "Done means someone other than its author could carry it out from the text "
                "alone.",
            ),
            (
                "Back up critical data",
                REQUIRED,
                "Every data store the change touches has a fresh backup that is known to "
                "restore: a backup verification has passed or the restore was tested by hand. "
                "Note where the backup is in the window's log.",
            ),
        ],
        "during": [
            (
                "Monitor system health continuously",
                False,
                "Someone watches error rates, latency and saturation of the affected services "
                "and their neighbours for the whole window, against the 'before' snapshot. "
                "Anything unusual goes in the log as it is seen.",
            ),
            (
                "Follow change procedures step by step",
                False,
                "The change is carried out as planned, one step at a time, each step confirmed "
                "before the next. Any deviation is agreed with the window's owner first and "
                "written in the log.",
            ),
            (
                "Document issues as they occur",
                False,
                "Every surprise, error or manual intervention is in the window's log with its "
                "time when it happens, not reconstructed afterwards. Issues that outlive the "
                "window get a ticket or an incident.",
            ),
            (
                "Communicate progress regularly",
                False,
                "Stakeholders hear about the start, the milestones, any delay and the end in "
                "the agreed channel. An overrun is announced (and the window extended) before "
                "the scheduled end, not after it.",
            ),
        ],
        "post": [
            (
                "Verify functionality end to end",
                REQUIRED,
                "The critical user journeys of the affected services work end to end (smoke "
                "tests, synthetic checks or by hand), the 'after' health snapshot shows no "
                "regression and error rates are back at their baseline.",
            ),
            (
                "Extended monitoring",
                False,
                "A named person watches the affected services for an agreed time after the "
                "window (an hour to a day; longer after data migrations) and has seen delayed "
                "effects such as batch jobs, cache warm-up and the next traffic peak run "
                "cleanly.",
            ),
            (
                "Update documentation",
                False,
                "Runbooks, architecture notes, configuration references and the service "
                "catalogue describe the system as it is now. Lessons about the procedure itself "
                "are folded back into this checklist template.",
            ),
            (
                "Retrospective",
                False,
                "A short review, held or written: what went to plan, what did not, the time "
                "taken against the estimate, and follow-up actions with owners. Done means the "
                "actions are recorded, not just discussed.",
            ),
        ],
    },
}

# (slug, name, description, [(incident step, due minutes, title, description)])
RECOVERY = [
    (
        "database-failure",
        "Database failure",
        "A primary database is down, refusing connections, corrupt or losing data. Work top to "
        "bottom: confirm, contain, restore, verify, reopen.",
        [
            (
                "assess",
                10,
                "Confirm the failure and its scope",
                "Run the PostgreSQL probes (connectivity, connections, replication lag, slow "
                "queries) on the database's targets from the diagnostics panel. Done means a "
                "note says which instance fails, whether the replicas are healthy and how far "
                "behind they are, and which services depend on it.",
            ),
            (
                "mitigate",
                15,
                "Stop writes and put dependents in maintenance mode",
                "Pause everything that writes (application write paths, workers, cron and batch "
                "jobs) so nothing more lands on a failing or diverging primary, and switch the "
                "dependent services to maintenance or read-only mode. Done means no client "
                "writes to the database.",
            ),
            (
                "mitigate",
                30,
                "Fail over to a replica or restore the latest verified backup",
                "Prefer promoting a healthy replica with acceptable lag; otherwise restore the "
                "latest backup that passed verification and replay WAL to the last consistent "
                "point. Done means a writable primary is up, connection settings (DNS, pooler, "
                "secrets) point at it, and a note gives the recovery point.",
            ),
            (
                "resolve",
                45,
                "Verify data integrity and replication",
                "Compare row counts and the latest writes of the critical tables with what you "
                "expect, run the application's consistency checks, and confirm new replicas "
                "stream with low lag. Done means the data is trusted and the database is "
                "redundant again.",
            ),
            (
                "resolve",
                60,
                "Re-enable writes and watch error rates",
                "Turn writers back on in stages (API first, then workers and batch jobs), leave "
                "maintenance mode and watch error rates, latency, connection counts and "
                "replication lag for at least 30 minutes. Done means they are back at their "
                "baseline.",
            ),
            (
                "communicate",
                60,
                "Tell stakeholders about any data loss",
                "If writes between the failure and the recovery point were lost or delayed, "
                "tell the owners of the affected services and support which time range is "
                "affected and how it will be reconciled.",
            ),
        ],
    ),
    (
        "service-failure",
        "Service failure",
        "One service fails (errors, crash loops, 503s) while its dependencies are healthy.",
        [
            (
                "assess",
                10,
                "Identify the failing service and the last change",
                "Confirm which service fails and how with its health probes, then list what "
                "changed recently: deploys, configuration or feature flags, dependency "
                "upgrades, traffic shifts. Done means a note names the prime suspect.",
            ),
            (
                "mitigate",
                20,
                "Roll back or restart",
                "If a recent change lines up with the start of the failure, roll it back "
                "(previous release, reverted config or flag). With no suspect change, restart "
                "the failing instances to clear a bad state. Use the remediation actions so "
                "the step is previewed, approved and recorded.",
            ),
            (
                "mitigate",
                30,
                "Scale out if saturated",
                "If CPU, memory, connection pools or queue depth are at their limits, add "
                "replicas or capacity, checking that the dependencies can take the extra load. "
                "Done means the saturation metrics have headroom again.",
            ),
            (
                "resolve",
                45,
                "Verify health checks pass",
                "Every instance passes its readiness and liveness checks, the service's health "
                "probes are ok, and the main endpoints' error rate and latency are back at "
                "their baseline.",
            ),
            (
                "resolve",
                120,
                "Watch for regression",
                "Keep watching for at least an hour, through the next traffic peak if one is "
                "near: a restart buys time but a leak, bad input or exhausted resource can "
                "come back. Done means the service stayed healthy and the root cause has a "
                "follow-up.",
            ),
        ],
    ),
    (
        "complete-outage",
        "Complete outage",
        "The whole product is down for everyone. Declare, tell customers, then rebuild from the "
        "bottom of the stack up.",
        [
            (
                "acknowledge",
                5,
                "Declare P0 and open the bridge",
                "Set the incident to P0, name the commander and open the call or war-room "
                "channel, linked in a note. Page the on-call owners of network, platform and "
                "databases. Done means one person leads and everyone knows where to talk.",
            ),
            (
                "communicate",
                10,
                "Update the status page",
                "Post a public update that the service is unavailable and being investigated, "
                "mark the affected components as major outage, and promise the next update "
                "within 30 minutes.",
            ),
            (
                "assess",
                20,
                "Check the infrastructure layers bottom-up",
                "Work up the stack and stop at the first broken layer: network and provider "
                "status, DNS and certificates, load balancers and ingress, databases, caches "
                "and queues, then the applications. Done means a note names the lowest failing "
                "layer.",
            ),
            (
                "mitigate",
                45,
                "Restore the core paths first",
                "Bring back what matters most (sign-in, checkout and payments, the main API) "
                "even in degraded form: turn off non-essential features, serve cached or "
                "static content, pause batch work. Done means the core journeys work for "
                "customers.",
            ),
            (
                "mitigate",
                90,
                "Recover in stages with a traffic ramp-up",
                "Bring the remaining services back in dependency order and let traffic in "
                "gradually (for example 10 %, 50 %, 100 %) with caches warmed and rate limits "
                "on, checking error rates and saturation at each stage so the recovery does "
                "not cause a second outage.",
            ),
            (
                "resolve",
                120,
                "Confirm end to end and communicate the all clear",
                "Run the critical user journeys end to end and check the health probes and "
                "error rates are at their baseline, then post the resolved update on the "
                "status page and tell internal stakeholders. Done means everyone has heard "
                "it is over.",
            ),
        ],
    ),
]


def seed(apps, schema_editor):
    Template = apps.get_model("maintenance", "ChecklistTemplate")
    Item = apps.get_model("maintenance", "ChecklistTemplateItem")

    other_default = (
        Template.objects.filter(kind="maintenance", is_default=True)
        .exclude(slug=MAINTENANCE["slug"])
        .exists()
    )
    template, _ = Template.objects.update_or_create(
        slug=MAINTENANCE["slug"],
        defaults={
            "name": MAINTENANCE["name"],
            "kind": "maintenance",
            "description": MAINTENANCE["description"],
            "is_default": not other_default,
            "active": True,
        },
    )
    for phase, items in MAINTENANCE["items"].items():
        for position, (title, required, description) in enumerate(items, start=1):
            Item.objects.update_or_create(
                template=template,
                phase=phase,
                title=title,
                defaults={"required": required, "description": description, "position": position},
            )

    for slug, name, description, items in RECOVERY:
        template, _ = Template.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "kind": "recovery",
                "description": description,
                "is_default": False,
                "active": True,
            },
        )
        for position, (step, due_minutes, title, item_description) in enumerate(items, start=1):
            Item.objects.update_or_create(
                template=template,
                phase="procedure",
                title=title,
                defaults={
                    "description": item_description,
                    "incident_step": step,
                    "due_minutes": due_minutes,
                    "position": position,
                    "required": False,
                },
            )


class Migration(migrations.Migration):
    dependencies = [
        ("maintenance", "0001_initial"),
        # IncidentTask, which the recovery procedures' items become.
        ("incidents", "0005_policy_require_diagnosis"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
