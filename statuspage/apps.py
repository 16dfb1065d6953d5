from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "statuspage"
    verbose_name = "Status page"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from incidents import events

        from . import invalidation, stale
        from .subscriptions import wiring as subscription_wiring
        from .uptime import hooks as uptime_hooks

        invalidation.connect()
        events.register_topic(stale.STALE_TOPIC)
        uptime_hooks.connect()
        subscription_wiring.connect()
