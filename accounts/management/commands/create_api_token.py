"""`manage.py create_api_token <username>`: the token alone on the last line, for scripts."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it (only time it is ever shown)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="What the token is for.")

    def handle(self, *args, username, name, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"no user named {username!r}") from exc
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive")
        issued = api_token_create(user=user, name=name)
        self.stderr.write(f"Created token {issued.token.prefix}… for {username}; store it now.")
        self.stdout.write(issued.raw)
