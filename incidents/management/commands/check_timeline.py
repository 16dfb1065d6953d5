"""`manage.py check_timeline`: every timeline (incidents, maintenance windows) must be 1..n."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from ops_portal.timeline import registered_timelines, timeline_problems


class Command(BaseCommand):
    help = "Report timeline gaps and duplicates per incident and window; exit non-zero if any."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="One JSON line per problem.")

    def handle(self, *args, **options):
        json_output = options.get("json", False)
        problems = [p for t in registered_timelines() for p in timeline_problems(t)]
        for problem in problems:
            if json_output:
                self.stdout.write(json.dumps(problem.__dict__))
            else:
                self.stdout.write(
                    f"{problem.ref}: missing {problem.missing or '-'}, duplicates "
                    f"{problem.duplicates or '-'}, counter {problem.counter}, "
                    f"highest {problem.highest}"
                )
        if problems:
            raise CommandError(f"{len(problems)} timeline(s) inconsistent")
        self.stdout.write(self.style.SUCCESS("All timelines contiguous."))
