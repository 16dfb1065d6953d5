"""What the diagnostics pages show: results grouped by step with status words, findings
tables, baseline changes, raw output; the catalogue and runbooks; query counts that do not
grow with the number of runs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from diagnostics import services
from diagnostics.models import ProbeRun, Runbook
from diagnostics.probes import registry
from diagnostics.probes.base import Status

from .conftest import outcome, pods_table, restarts_check

pytestmark = pytest.mark.django_db


def _get(client, user, name, *args) -> str:
    client.force_login(user)
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def test_incident_page_groups_runs_by_step_with_status_words(
    client, viewer, incident, finished_set
):
    finished_set(3)
    html = _get(client, viewer, "diagnostics:incident", incident.number)
    assert html.count('class="dx-step"') == 3
    assert "Step 1" in html and "Step 3" in html
    assert '<span class="pstatus pstatus-critical">Critical</span>' in html
    assert '<span class="pstatus pstatus-ok">OK</span>' in html
    assert "3 probes: 1 critical, 2 ok" in html  # the set's summary
    assert "<caption>Pods not ready" in html and "web-2" in html  # findings table
    assert "Container restarts (1 h)" in html and "critical ≥ 5" in html  # thresholds used
    assert '<details class="dx-raw">' in html and "&quot;ready&quot;: 2" in html  # raw, collapsed


def test_a_run_shows_what_changed_since_the_last_ok_run(client, viewer, incident, finished_set):
    finished_set(1, status=Status.OK)  # the baseline
    finished_set(1)  # now: critical with two pods
    run = ProbeRun.objects.order_by("-pk").first()
    assert run.baseline is not None
    html = _get(client, viewer, "diagnostics:run", run.pk)
    changes = html.split('class="dx-changes"')[1].split("</section>")[0]
    assert f"run #{run.baseline_id}" in changes
    assert "Container restarts (1 h)" in changes and "0 → <strong>9</strong>" in changes
    assert "New in Pods not ready" in changes and "2 new" in changes


def test_a_new_finding_is_only_what_the_baseline_did_not_have(
    client, viewer, incident, http_target, commander
):
    def finish(pods, status):
        diagnosis = services.probe_start(
            probe="http.health", target=http_target, params={}, by=commander, incident=incident
        )
        run = diagnosis.runs.get()
        services.run_finish(
            run, outcome(status, "x", checks=[restarts_check(0)], tables=[pods_table(*pods)])
        )
        return ProbeRun.objects.get(pk=run.pk)

    finish(["web-1"], Status.OK)
    run = finish(["web-1", "web-3"], Status.WARNING)
    assert [finding["rows"] for finding in run.changes["new_findings"]] == [
        [["web-3", "CrashLoopBackOff", 7]]
    ]
    html = _get(client, viewer, "diagnostics:run", run.pk)
    changes = html.split('class="dx-changes"')[1].split("</section>")[0]
    assert "web-3" in changes and "web-1" not in changes


def test_run_page_shows_an_error_result_honestly(client, viewer, incident, http_target, commander):
    from diagnostics import runner

    diagnosis = services.probe_start(
        probe="http.health", target=http_target, params={}, by=commander, incident=incident
    )
    services.run_finish(diagnosis.runs.get(), runner.error_outcome("connection refused: db:5432"))
    html = _get(client, viewer, "diagnostics:run", diagnosis.runs.get().pk)
    assert '<span class="pstatus pstatus-error">Error</span>' in html
    assert "Could not look:</strong> connection refused: db:5432" in html


def test_queued_runs_say_so(client, viewer, incident, http_target, commander):
    diagnosis = services.probe_start(
        probe="http.health", target=http_target, params={}, by=commander, incident=incident
    )
    html = _get(client, viewer, "diagnostics:diagnosis", diagnosis.pk)
    assert '<span class="pstatus pstatus-pending">Queued</span>' in html
    assert "1 of 1 still running" in html


def test_diagnosis_page_shows_the_runbook_remediations_as_sanitized_markdown(
    client, viewer, incident, commander
):
    runbook = Runbook.objects.get(symptom="service_unavailable")
    runbook.suggested_remediations = (
        "- **Roll back** <script>alert(1)</script> [x](javascript:alert(2))"
    )
    runbook.save()
    diagnosis = services.runbook_start(
        runbook=runbook, incident=incident, by=commander, trigger="t"
    )
    html = _get(client, viewer, "diagnostics:diagnosis", diagnosis.pk)
    assert "<strong>Roll back</strong>" in html
    assert "<script>alert(1)" not in html and "javascript:" not in html


def test_index_lists_recent_diagnoses_across_incidents_and_services(
    client, viewer, incident, finished_set, checkout, commander
):
    finished_set(1)
    services.health_check_start(service=checkout, by=commander)
    html = _get(client, viewer, "diagnostics:list")
    assert incident.ref in html and "Health check: Checkout" in html
    assert reverse("diagnostics:probes") in html and reverse("diagnostics:runbooks") in html


def test_probe_catalogue_lists_every_probe_with_its_params(client, viewer):
    html = _get(client, viewer, "diagnostics:probes")
    for probe in registry.all():
        assert f'id="probe-{probe.name}"' in html
    health = html.split('id="probe-http.health"')[1].split("</article>")[0]
    assert "health check" in health
    assert "latency_warning_ms" in health and "<code>1000</code>" in health
    assert "Warning when the whole request" in health  # the field's help text


def test_runbooks_page_shows_steps_and_rendered_remediations(client, viewer, commander):
    runbook = Runbook.objects.get(symptom="redis_memory")
    html = _get(client, viewer, "diagnostics:runbooks")
    card = html.split(f'id="runbook-{runbook.pk}"')[1].split("</article>")[0]
    assert "redis.big_keys" in card and "<li>" in card
    assert "Edit" not in card  # viewers do not manage runbooks
    html = _get(client, commander, "diagnostics:runbooks")
    assert reverse("diagnostics:runbook_edit", args=[runbook.pk]) in html


def test_unknown_ids_are_404(client, viewer):
    client.force_login(viewer)
    for name in ("diagnostics:diagnosis", "diagnostics:run", "diagnostics:incident"):
        assert client.get(reverse(name, args=[999999])).status_code == 404


@pytest.mark.parametrize(
    "name", ["diagnostics:incident", "diagnostics:diagnosis", "incidents:detail"]
)
def test_query_count_does_not_grow_with_runs(
    client, viewer, incident, finished_set, django_assert_max_num_queries, name
):
    small = finished_set(1)
    client.force_login(viewer)
    arg = small.pk if name == "diagnostics:diagnosis" else incident.number
    with django_assert_max_num_queries(40) as one:
        assert client.get(reverse(name, args=[arg])).status_code == 200
    baseline = len(one.captured_queries)
    big = finished_set(20)
    assert big.runs.count() == 20
    arg = big.pk if name == "diagnostics:diagnosis" else incident.number
    with django_assert_max_num_queries(baseline):
        html = client.get(reverse(name, args=[arg])).content.decode()
    assert "Step 20" in html or name == "incidents:detail"


def test_index_query_count_does_not_grow(
    client, viewer, incident, finished_set, django_assert_max_num_queries
):
    finished_set(1)
    client.force_login(viewer)
    with django_assert_max_num_queries(20) as one:
        client.get(reverse("diagnostics:list"))
    for _ in range(5):
        finished_set(2)
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(reverse("diagnostics:list"))
