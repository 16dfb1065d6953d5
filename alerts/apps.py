from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from ops_portal.metrics import register_process_metric, register_scrape_collector

        from .metrics import ALERTS_ACCEPTED, RECEIVED, REJECTED, AlertBacklogCollector

        register_scrape_collector(AlertBacklogCollector())
        for metric in (RECEIVED, ALERTS_ACCEPTED, REJECTED):
            register_process_metric(metric)

        from incidents.panels import register_panel

        from .panels import incident_alerts_panel

        # The incident page lists the incident's alert groups; incidents never imports alerts.
        register_panel("alerts", incident_alerts_panel, stylesheets=("css/alerts.css",))
