from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs):
    from .services import role_groups_sync

    role_groups_sync()


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self):
        from . import schema  # noqa: F401  (registers the OpenAPI auth extension)

        # After migrate has created the permissions, keep the role groups in step with
        # accounts.permissions.ROLE_PERMS.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="accounts.sync_roles")
