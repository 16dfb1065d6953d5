"""The runbook editor: create, edit, reorder and remove steps, with params checked against the
probe's own parameter schema; bad input comes back as form errors (400), never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from diagnostics.models import Runbook

pytestmark = pytest.mark.django_db


def _form(name="Checkout HTTP", symptom="", enabled=True, steps=(), initial=0, **runbook):
    data = {
        "runbook-name": name,
        "runbook-symptom": symptom,
        "runbook-description": runbook.get("description", "Is checkout answering?"),
        "runbook-suggested_remediations": runbook.get("remediations", "- Roll back."),
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(initial),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "50",
    }
    if enabled:
        data["runbook-enabled"] = "on"
    for index, step in enumerate(steps):
        for key, value in step.items():
            data[f"steps-{index}-{key}"] = value
    return data


def _step(probe="http.health", params="{}", order="", title="", target_name="", delete=False):
    step = {"probe": probe, "params": params, "ORDER": order, "title": title}
    step["target_name"] = target_name
    if delete:
        step["DELETE"] = "on"
    return step


def test_commander_creates_then_edits_a_runbook(client, commander):
    client.force_login(commander)
    assert client.get(reverse("diagnostics:runbook_new")).status_code == 200
    response = client.post(
        reverse("diagnostics:runbook_new"),
        _form(
            steps=[
                _step(title="Health", params='{"latency_warning_ms": 500}', order="0"),
                _step(probe="redis.memory", order="1"),
            ]
        ),
    )
    runbook = Runbook.objects.get(name="Checkout HTTP")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('diagnostics:runbooks')}#runbook-{runbook.pk}"
    steps = list(runbook.steps.order_by("position"))
    assert [(s.position, s.probe, s.title) for s in steps] == [
        (0, "http.health", "Health"),
        (1, "redis.memory", ""),
    ]
    assert steps[0].params == {"latency_warning_ms": 500}
    assert runbook.slug == "checkout-http" and runbook.enabled

    edit_url = reverse("diagnostics:runbook_edit", args=[runbook.pk])
    page = client.get(edit_url).content.decode()
    assert "Checkout HTTP" in page and "latency_warning_ms" in page
    # Swap the two steps, drop the health step, add a Kafka step.
    response = client.post(
        edit_url,
        _form(
            initial=2,
            steps=[
                _step(title="Health", params='{"latency_warning_ms": 500}', order="1", delete=True),
                _step(probe="redis.memory", order="0"),
                _step(probe="kafka.consumer_lag", order="2", title="Lag"),
            ],
        ),
    )
    assert response.status_code == 302
    assert [
        (s.position, s.probe) for s in Runbook.objects.get(pk=runbook.pk).steps.order_by("position")
    ] == [(0, "redis.memory"), (1, "kafka.consumer_lag")]


def test_bad_json_params_are_a_form_error_not_a_500(client, commander):
    runbook = Runbook.objects.get(symptom="redis_memory")
    before = list(runbook.steps.values_list("probe", "params"))
    client.force_login(commander)
    response = client.post(
        reverse("diagnostics:runbook_edit", args=[runbook.pk]),
        _form(name=runbook.name, symptom="redis_memory", steps=[_step(params='{"pattern": ')]),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Not valid JSON" in html and "dx-step-form-invalid" in html
    assert list(runbook.steps.values_list("probe", "params")) == before


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ('["not", "an", "object"]', "Must be a JSON object"),
        (
            '{"latency_warning_ms": 0}',
            "latency_warning_ms: Ensure this value is greater than or equal to 1.",
        ),
        (
            '{"no_such_param": 1, "latency_critical_ms": 10, "latency_warning_ms": 20}',
            "latency_critical_ms: Must be at least latency_warning_ms.",
        ),
        ('{"timeout_s": 9999}', "timeout_s: A number of seconds from 0.1 to"),
    ],
)
def test_params_are_checked_against_the_probe(client, commander, params, message):
    client.force_login(commander)
    response = client.post(reverse("diagnostics:runbook_new"), _form(steps=[_step(params=params)]))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Runbook.objects.filter(name="Checkout HTTP").exists()


def test_one_enabled_runbook_per_symptom(client, commander):
    client.force_login(commander)
    response = client.post(
        reverse("diagnostics:runbook_new"),
        _form(symptom="service_unavailable", steps=[_step()]),
    )
    assert response.status_code == 400
    assert "already runs for this symptom" in response.content.decode()
    disabled = client.post(
        reverse("diagnostics:runbook_new"),
        _form(symptom="service_unavailable", enabled=False, steps=[_step()]),
    )
    assert disabled.status_code == 302  # a disabled one may wait for the same symptom


def test_a_taken_name_is_a_field_error(client, commander):
    client.force_login(commander)
    response = client.post(
        reverse("diagnostics:runbook_new"), _form(name="High CPU", steps=[_step()])
    )
    assert response.status_code == 400
    assert "runbook with this name already exists." in response.content.decode()


def test_unknown_probe_is_a_choice_error(client, commander):
    client.force_login(commander)
    response = client.post(
        reverse("diagnostics:runbook_new"), _form(steps=[_step(probe="nope.probe")])
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_add_a_step_without_javascript_saves_nothing(client, commander):
    client.force_login(commander)
    response = client.post(
        reverse("diagnostics:runbook_new"), {**_form(steps=[_step()]), "add_step": "1"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="steps-TOTAL_FORMS" value="2"' in html and "Step 2" in html
    assert not Runbook.objects.filter(name="Checkout HTTP").exists()


def test_an_empty_extra_step_is_ignored(client, commander):
    client.force_login(commander)
    response = client.post(
        reverse("diagnostics:runbook_new"),
        _form(steps=[_step(order="0"), _step(probe="", params="{}")]),
    )
    assert response.status_code == 302
    assert Runbook.objects.get(name="Checkout HTTP").steps.count() == 1


def test_remediations_preview_is_sanitized(client, commander):
    runbook = Runbook.objects.get(symptom="cpu")
    runbook.suggested_remediations = "**Scale** <img src=x onerror=alert(1)>"
    runbook.save()
    client.force_login(commander)
    html = client.get(reverse("diagnostics:runbook_edit", args=[runbook.pk])).content.decode()
    preview = html.split("Preview of the saved remediations")[1].split("</details>")[0]
    assert "<strong>Scale</strong>" in preview and "onerror" not in preview
