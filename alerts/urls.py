"""Pages of the alerts app (mounted at /alerts/)."""

app_name = "alerts"
urlpatterns: list = []
