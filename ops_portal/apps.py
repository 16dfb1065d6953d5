from django.apps import AppConfig


class OpsPortalConfig(AppConfig):
    name = "ops_portal"
    verbose_name = "Ops Portal"
