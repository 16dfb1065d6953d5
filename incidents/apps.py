from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        from ops_portal.metrics import register_scrape_collector
        from ops_portal.timeline import register_timeline

        from .metrics import IncidentCollector
        from .selectors import INCIDENT_TIMELINE

        register_scrape_collector(IncidentCollector())
        register_timeline(INCIDENT_TIMELINE)
