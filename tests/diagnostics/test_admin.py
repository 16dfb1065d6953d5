"""Django admin: runbooks editable, probe results read-only evidence."""

import pytest

from diagnostics.models import Diagnosis, ProbeRun, Runbook
from diagnostics.services import probe_start

pytestmark = pytest.mark.django_db


def test_admin_pages_render_and_runs_cannot_be_edited(client, admin_user, checkout, commander):
    diagnosis = probe_start(
        probe="test.scripted", target=checkout.targets.get(name="web"), params={}, by=commander
    )
    run = ProbeRun.objects.get(diagnosis=diagnosis)
    admin_user.is_superuser = True  # the Django admin is for superusers (seed_demo's admin is one)
    admin_user.save()
    client.force_login(admin_user)
    runbook = Runbook.objects.order_by("pk").first()
    for url in (
        "/admin/diagnostics/runbook/",
        f"/admin/diagnostics/runbook/{runbook.pk}/change/",
        "/admin/diagnostics/diagnosis/",
        f"/admin/diagnostics/diagnosis/{diagnosis.pk}/change/",
        "/admin/diagnostics/proberun/",
        "/admin/incidents/severitypolicy/",
        "/admin/diagnostics/actionpolicy/",
        "/admin/diagnostics/actionpolicy/add/",
        "/admin/diagnostics/actionrequest/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/diagnostics/proberun/add/").status_code == 403
    client.post(f"/admin/diagnostics/proberun/{run.pk}/change/", {"summary": "edited"})
    run.refresh_from_db()
    assert run.summary != "edited"
    assert Diagnosis.objects.count() == 1
