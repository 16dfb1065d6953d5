from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from ops_portal.metrics import register_scrape_collector

        from .metrics import AlertBacklogCollector

        register_scrape_collector(AlertBacklogCollector())
