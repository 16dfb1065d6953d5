from django.apps import AppConfig


class StatuspageConfig(AppConfig):
    name = "statuspage"
    verbose_name = "Status page"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from incidents import events
        from ops_portal.metrics import register_process_metric

        from . import cache, invalidation, stale
        from .subscriptions import wiring as subscription_wiring
        from .uptime import hooks as uptime_hooks

        invalidation.connect()
        register_process_metric(cache.READS)
        events.register_topic(stale.STALE_TOPIC)
        uptime_hooks.connect()
        subscription_wiring.connect()
