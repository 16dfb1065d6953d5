"""`manage.py check_timeline`: every incident's timeline must be 1..n, no gaps or duplicates."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from incidents.selectors import timeline_problems


class Command(BaseCommand):
    help = "Report timeline gaps and duplicates per incident; exit non-zero if any."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="One JSON line per problem.")

    def handle(self, *args, json_output=False, **options):
        json_output = options.get("json", False)
        problems = timeline_problems()
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
            raise CommandError(f"{len(problems)} incident timeline(s) inconsistent")
        self.stdout.write(self.style.SUCCESS("All timelines contiguous."))
