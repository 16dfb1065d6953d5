"""Ingestion paths, mounted at the site root by ops_portal/urls.py."""

from django.urls import path

from . import ingest

urlpatterns = [
    path(
        "api/integrations/alertmanager/",
        ingest.alertmanager_webhook,
        name="alerts-ingest-alertmanager",
    ),
    path("api/integrations/grafana/", ingest.grafana_webhook, name="alerts-ingest-grafana"),
    path("api/integrations/generic/", ingest.generic_webhook, name="alerts-ingest-generic"),
    path("v2/enqueue", ingest.pagerduty_enqueue, name="alerts-ingest-pagerduty"),
]
