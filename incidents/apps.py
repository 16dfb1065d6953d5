from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        from ops_portal.metrics import register_scrape_collector

        from .metrics import IncidentCollector

        register_scrape_collector(IncidentCollector())
