from django.apps import AppConfig


class DiagnosticsConfig(AppConfig):
    name = "diagnostics"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Diagnostics"

    def ready(self) -> None:
        from .actions import load_action_modules
        from .probes import load_probe_modules

        load_probe_modules()
        load_action_modules()
        from . import wiring

        wiring.connect()
