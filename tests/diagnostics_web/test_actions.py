"""Remediation pages: preview an action from the incident, confirm it with the one-time token,
a second commander's approval, rejection, the panel, suggestions from probe findings, and the
remediation events on the timeline — for every role, through the Django test client.

The actions are real plug-ins registered for these tests (kind http, names `test.page_*`): they
keep their "target state" in a dict, so what the pages make the service do is checked exactly
without depending on the real Kubernetes/PostgreSQL/Redis/Kafka actions.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from accounts.permissions import Role
from diagnostics import remediation
from diagnostics.action_views import TOKENS_KEY
from diagnostics.actions import registry
from diagnostics.actions.base import (
    Action,
    ActionRefused,
    ActionResult,
    Change,
    Preview,
    Suggestion,
)
from diagnostics.models import ActionRequest, ActionState
from incidents.models import EventKind, Incident, TimelineEvent
from incidents.services import incident_declare

pytestmark = pytest.mark.django_db

STATE = {"replicas": 3, "executions": 0, "refuse": ""}
TOKEN_IN_FORM = re.compile(r'name="token" value="([^"]+)"')


class ScaleParams(serializers.Serializer):
    replicas = serializers.IntegerField(min_value=0, max_value=20, help_text="Replicas wanted.")
    mode = serializers.ChoiceField(choices=["fast", "careful"], default="careful")
    note = serializers.CharField(required=False, max_length=200)
    force = serializers.BooleanField(default=False, help_text="Admins only.")


class PageScale(Action):
    name = "test.page_scale"
    kind = "http"
    title = "Scale the test counter"
    description = "Sets the counter's replicas."
    params_class = ScaleParams
    suggested_by = ("http.health",)

    def preview(self, target, params, timeout_s):
        if STATE["refuse"]:
            raise ActionRefused(STATE["refuse"])
        note = f" ({params['note']})" if params.get("note") else ""
        return Preview(
            summary=f"Scale {target.name} from {STATE['replicas']} to {params['replicas']}{note}",
            changes=[Change("replicas of the counter", STATE["replicas"], params["replicas"])],
            details={
                "method": "PATCH",
                "body": {"spec": {"replicas": params["replicas"]}},
            },
            warnings=["Scaling down drops in-flight requests."],
            basis={"replicas": STATE["replicas"]},
        )

    def execute(self, target, params, preview, timeout_s, progress=None):
        STATE["executions"] += 1
        STATE["replicas"] = params["replicas"]
        step = {"name": "patch replicas", "ok": True, "summary": f"set to {params['replicas']}"}
        if progress:
            progress(step)
        return ActionResult(
            ok=True, summary=f"scaled to {params['replicas']}", details={"took": 1}, steps=[step]
        )

    def suggest(self, probe_name, result):
        if any(table["rows"] for table in result.get("tables", [])):
            return [Suggestion(self.name, "Scale the counter to 6", {"replicas": 6})]
        return []


class PageRollback(PageScale):
    name = "test.page_rollback"
    title = "Roll back the test counter"
    approval_on_high_severity = True  # the incident is a P1: a second commander approves
    suggested_by = ()


@pytest.fixture(autouse=True)
def page_actions():
    STATE.update(replicas=3, executions=0, refuse="")
    for cls in (PageScale, PageRollback):
        registry.register(cls)
    yield
    for cls in (PageScale, PageRollback):
        registry._actions.pop(cls.name, None)


@pytest.fixture
def second_commander(make_user):
    return make_user(Role.COMMANDER, username="cole")


def as_user(client, user):
    client.force_login(user)
    return client


def preview_post(client, incident, target, action="test.page_scale", follow=False, **fields):
    data = {"action": action, "target": target.pk, "param_replicas": "6", **fields}
    url = reverse("diagnostics:action_new", args=[incident.number])
    return client.post(url, data, follow=follow)


def issue(incident, target, by, action="test.page_scale", **params):
    return remediation.action_preview(
        incident=incident, action=action, target=target, params={"replicas": 6, **params}, by=by
    )


def page(client, found) -> str:
    response = client.get(reverse("diagnostics:action", args=[found.pk]))
    assert response.status_code == 200
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def phases(incident) -> list[str]:
    events = TimelineEvent.objects.filter(incident=incident, kind=EventKind.REMEDIATION)
    return [event.data["phase"] for event in events.order_by("seq")]


def panel(html: str) -> str:
    return html.split('id="panel-diagnostics"')[1].split("</section>")[0]


# --- Roles on every new view ------------------------------------------------------------------

ROLES = ["anonymous", "viewer", "responder", "commander", "admin"]
READ = dict(anonymous=302, viewer=200, responder=200, commander=200, admin=200)
PREVIEW = dict(anonymous=302, viewer=403, responder=200, commander=200, admin=200)
PREVIEW_POST = dict(anonymous=302, viewer=403, responder=302, commander=302, admin=302)
DECIDE = dict(anonymous=302, viewer=403, responder=403, commander=302, admin=302)


@pytest.fixture
def pending(incident, http_target, commander):
    """A request awaiting approval (the rollback on a P1), and one just previewed."""
    requested = issue(incident, http_target, commander, action="test.page_rollback")
    remediation.action_confirm(request=requested.request, token=requested.token, by=commander)
    return {"requested": requested.request, "previewed": issue(incident, http_target, commander)}


PAGES = {
    "diagnostics:action_new": (lambda i, p: [i.number], PREVIEW),
    "diagnostics:incident_actions": (lambda i, p: [i.number], READ),
    "diagnostics:action": (lambda i, p: [p["requested"].pk], READ),
}


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_pages_by_role(client, persona, incident, pending, name, request):
    args_of, expected = PAGES[name]
    if persona is not None:
        client.force_login(persona)
    response = client.get(reverse(name, args=args_of(incident, pending)))
    role = request.node.callspec.params["persona"]
    assert response.status_code == expected[role]
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))


POSTS = {
    "diagnostics:action_new": (
        lambda i, p: [i.number],
        lambda t: {"action": "test.page_scale", "target": t.pk, "param_replicas": "4"},
        PREVIEW_POST,
    ),
    "diagnostics:action_confirm": (
        lambda i, p: [p["previewed"].request.pk],
        lambda t: {"token": "not-the-token"},
        DECIDE,
    ),
    "diagnostics:action_approve": (lambda i, p: [p["requested"].pk], lambda t: {}, DECIDE),
    "diagnostics:action_reject": (
        lambda i, p: [p["requested"].pk],
        lambda t: {"reason": "not now"},
        DECIDE,
    ),
}


@pytest.mark.parametrize("name", POSTS)
@pytest.mark.parametrize("persona", ROLES, indirect=True)
def test_posts_by_role(client, persona, incident, http_target, pending, name, request):
    args_of, data_of, expected = POSTS[name]
    before = list(ActionRequest.objects.order_by("pk").values_list("pk", "state"))
    if persona is not None:
        client.force_login(persona)
    response = client.post(reverse(name, args=args_of(incident, pending)), data_of(http_target))
    role = request.node.callspec.params["persona"]
    assert response.status_code == expected[role]
    after = list(ActionRequest.objects.order_by("pk").values_list("pk", "state"))
    if expected[role] != 302 or role == "anonymous":
        assert after == before  # refused requests change nothing


@pytest.mark.parametrize("name", ["diagnostics:action_confirm", "diagnostics:action_approve"])
def test_decisions_refuse_get(client, commander, pending, name):
    as_user(client, commander)
    assert client.get(reverse(name, args=[pending["requested"].pk])).status_code == 405


def test_viewer_sees_states_but_no_action_buttons(client, viewer, incident, pending, finished_set):
    finished_set(1)
    as_user(client, viewer)
    incident_html = client.get(reverse("incidents:detail", args=[incident.number])).content
    incident_html = incident_html.decode()
    for html in (
        incident_html,
        page(client, pending["requested"]),
        page(client, pending["previewed"].request),
    ):
        for button in ("Confirm and run", "Approve</button>", "Reject</button>", "Preview again"):
            assert button not in html
        assert "Remediate…" not in html and "Preview: " not in html
    assert "Awaiting approval" in panel(incident_html)
    assert "Awaiting approval" in page(client, pending["requested"])


# --- Preview and confirm ----------------------------------------------------------------------


def test_responder_previews_but_does_not_confirm(client, responder, incident, http_target):
    response = preview_post(as_user(client, responder), incident, http_target)
    found = ActionRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("diagnostics:action", args=[found.pk])
    assert found.state == ActionState.PREVIEWED and found.previewed_by == responder
    assert found.params == {"replicas": 6, "mode": "careful", "force": False}
    assert TOKENS_KEY not in client.session  # a responder never holds a token
    html = page(client, found)
    assert "Scale api from 3 to 6" in html
    assert "Confirm and run" not in html and "Preview again" not in html
    assert "A commander confirms a preview" in html
    confirm = reverse("diagnostics:action_confirm", args=[found.pk])
    assert client.post(confirm, {"token": "x"}).status_code == 403
    assert STATE["executions"] == 0


def test_commander_previews_confirms_and_the_result_shows(
    client, commander, incident, http_target, run_inline
):
    response = preview_post(as_user(client, commander), incident, http_target, reason="queue")
    found = ActionRequest.objects.get()
    assert STATE["executions"] == 0  # previewing changes nothing
    follow = client.get(response["Location"])
    assert "Previewed: nothing has changed yet. Check it, then confirm." in messages_of(follow)
    html = follow.content.decode()
    # The preview, as the commander checks it before confirming.
    assert "Scale api from 3 to 6" in html
    assert "<td>replicas of the counter</td>" in html
    assert '<td class="dx-before">3</td><td class="dx-after">6</td>' in html
    assert "Scaling down drops in-flight requests." in html
    assert "&quot;replicas&quot;: 6" in html  # the PATCH body, as a block
    assert f'preview valid until <time datetime="{found.preview_expires_at.isoformat()}' in html
    assert "no-store" in follow["Cache-Control"]
    token = TOKEN_IN_FORM.search(html).group(1)
    assert 'name="reason"' in html and "queue</textarea>" in html  # the reason carried over

    with run_inline():
        done = client.post(
            reverse("diagnostics:action_confirm", args=[found.pk]),
            {"token": token, "reason": "queue"},
        )
    assert done.status_code == 302
    found.refresh_from_db()
    assert found.state == ActionState.DONE and STATE["executions"] == 1
    assert found.requested_by == commander and found.reason == "queue"
    after = client.get(done["Location"])
    # The worker ran once the request's transaction committed, after the message was written.
    assert messages_of(after) == [
        "Confirmed: it runs on a worker now; the incident timeline shows each step."
    ]
    html = after.content.decode()
    assert "Confirm and run" not in html and token not in html
    assert '<span class="astate astate-done">Done</span>' in html
    assert "<strong>patch replicas</strong>: set to 4" not in html
    assert "<strong>patch replicas</strong>: set to 6" in html
    assert phases(incident) == ["previewed", "requested", "started", "step", "done"]
    assert TOKENS_KEY in client.session and str(found.pk) not in client.session[TOKENS_KEY]


def test_the_token_stays_out_of_urls_and_other_pages(
    client, commander, second_commander, incident, http_target, finished_set
):
    run = finished_set(1).runs.get()
    response = preview_post(as_user(client, commander), incident, http_target, run=run.pk)
    found = ActionRequest.objects.get()
    token = client.session[TOKENS_KEY][str(found.pk)]["token"]
    assert token not in response["Location"]
    assert remediation._digest(token) == found.preview_token_digest
    assert token in page(client, found)  # the confirm form of the session that previewed
    for url in (
        reverse("incidents:detail", args=[incident.number]),
        reverse("diagnostics:incident", args=[incident.number]),
        reverse("diagnostics:incident_actions", args=[incident.number]),
        reverse("diagnostics:run", args=[run.pk]),
    ):
        assert token not in client.get(url).content.decode()
    # Another commander (another session) gets "Preview again", never the token.
    other = page(as_user(client.__class__(), second_commander), found)
    assert token not in other and "Confirm and run" not in other
    assert "Preview again" in other and "not in your session" in other


def test_preview_again_posts_the_same_action_target_and_params(
    client, commander, second_commander, incident, http_target
):
    first = issue(incident, http_target, commander, replicas=8, mode="fast", note="peak")
    other = as_user(client, second_commander)
    html = page(other, first.request)
    again = html.split('class="dx-again-form"')[1].split("</form>")[0]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', again))
    fields.pop("csrfmiddlewaretoken")
    assert fields == {
        "action": "test.page_scale",
        "target": str(http_target.pk),
        "param_replicas": "8",
        "param_mode": "fast",
        "param_note": "peak",
    }
    response = other.post(reverse("diagnostics:action_new", args=[incident.number]), fields)
    second = ActionRequest.objects.latest("pk")
    assert response["Location"] == reverse("diagnostics:action", args=[second.pk])
    assert second.params == first.request.params and second.previewed_by == second_commander
    assert "Confirm and run" in page(other, second)


def test_an_expired_preview_offers_preview_again(client, commander, incident, http_target):
    preview_post(as_user(client, commander), incident, http_target)
    found = ActionRequest.objects.get()
    token = client.session[TOKENS_KEY][str(found.pk)]["token"]
    ActionRequest.objects.filter(pk=found.pk).update(
        preview_expires_at=timezone.now() - timedelta(seconds=1)
    )
    html = page(client, found)
    assert "Preview expired" in html and "The preview expired at" in html
    assert "Confirm and run" not in html and token not in html
    assert "Preview again" in html
    response = client.post(
        reverse("diagnostics:action_confirm", args=[found.pk]), {"token": token}, follow=True
    )
    assert "The preview expired: preview again." in messages_of(response)
    found.refresh_from_db()
    assert found.state == ActionState.EXPIRED and STATE["executions"] == 0
    assert "Preview again" in response.content.decode()


def test_confirming_twice_is_a_message_not_a_500(client, commander, incident, http_target):
    preview_post(as_user(client, commander), incident, http_target)
    found = ActionRequest.objects.get()
    token = client.session[TOKENS_KEY][str(found.pk)]["token"]
    confirm = reverse("diagnostics:action_confirm", args=[found.pk])
    first = client.post(confirm, {"token": token}, follow=True)
    assert first.status_code == 200
    second = client.post(confirm, {"token": token}, follow=True)
    assert second.status_code == 200
    assert any("preview again to act" in text for text in messages_of(second))
    wrong = issue(incident, http_target, commander)
    response = client.post(
        reverse("diagnostics:action_confirm", args=[wrong.request.pk]), {"token": "guess"}
    )
    assert response.status_code == 302
    assert "The preview token does not match." in messages_of(client.get(response["Location"]))
    assert client.post(confirm, {}, follow=True).status_code == 200  # no token at all


# --- Approval and rejection -------------------------------------------------------------------


def test_requester_cannot_approve_a_second_commander_does(
    client, commander, second_commander, incident, http_target, run_inline
):
    preview_post(as_user(client, commander), incident, http_target, action="test.page_rollback")
    found = ActionRequest.objects.get()
    assert found.needs_approval
    html = page(client, found)
    assert "Confirming asks a second commander to approve" in html
    token = TOKEN_IN_FORM.search(html).group(1)
    response = client.post(
        reverse("diagnostics:action_confirm", args=[found.pk]), {"token": token}, follow=True
    )
    assert "Requested: a second commander must approve before it runs." in messages_of(response)
    html = response.content.decode()
    assert "A second commander must approve" in html and "Approve</button>" not in html
    assert "Reject</button>" in html  # the requester may withdraw it
    approve = reverse("diagnostics:action_approve", args=[found.pk])
    refused = client.post(approve, follow=True)
    assert refused.status_code == 200
    assert any("cannot approve their own request" in text for text in messages_of(refused))
    found.refresh_from_db()
    assert found.state == ActionState.REQUESTED and STATE["executions"] == 0

    other = as_user(client.__class__(), second_commander)
    assert "Approve</button>" in page(other, found)
    with run_inline():
        approved = other.post(approve)
    found.refresh_from_db()
    assert found.state == ActionState.DONE and found.approved_by == second_commander
    assert STATE["executions"] == 1
    assert approved.status_code == 302
    html = page(other, found)
    assert f"Approved</span> by <strong>{second_commander.display_name}</strong>" in html
    assert phases(incident) == ["previewed", "requested", "approved", "started", "step", "done"]


def test_reject_needs_a_reason_and_records_it(
    client, commander, second_commander, incident, pending
):
    requested = pending["requested"]
    reject = reverse("diagnostics:action_reject", args=[requested.pk])
    other = as_user(client, second_commander)
    response = other.post(reject, {"reason": ""}, follow=True)
    assert "Say why you reject it." in messages_of(response)
    requested.refresh_from_db()
    assert requested.state == ActionState.REQUESTED
    response = other.post(reject, {"reason": "roll forward instead"}, follow=True)
    assert "Rejected: nothing was done." in messages_of(response)
    requested.refresh_from_db()
    assert requested.state == ActionState.REJECTED
    html = response.content.decode()
    assert "“roll forward instead”" in html and "Approve</button>" not in html
    again = other.post(reject, {"reason": "twice"}, follow=True)
    assert "Only a pending request can be rejected." in messages_of(again)


# --- The preview form -------------------------------------------------------------------------


def test_the_form_offers_actions_for_the_incidents_targets_with_a_field_per_param(
    client, responder, admin_user, incident, http_target
):
    chooser = as_user(client, responder).get(
        reverse("diagnostics:action_new", args=[incident.number])
    )
    html = chooser.content.decode()
    assert "Scale the test counter" in html and "Roll back the test counter" in html
    assert f"?action=test.page_scale&amp;target={http_target.pk}" in html
    assert "postgres.terminate_backend" not in html  # no PostgreSQL target on this incident
    url = reverse("diagnostics:action_new", args=[incident.number])
    form = client.get(f"{url}?action=test.page_scale&target={http_target.pk}").content.decode()
    assert 'type="number" name="param_replicas"' in form
    assert 'min="0"' in form and 'max="20"' in form
    assert '<option value="careful" selected>careful</option>' in form
    assert 'name="param_note"' in form
    assert 'name="param_force"' not in form  # admins only
    admin_form = as_user(client, admin_user).get(f"{url}?action=test.page_scale").content
    assert b'name="param_force"' in admin_form


def test_bad_params_and_refusals_are_errors_on_the_page_not_500s(
    client, commander, incident, http_target
):
    as_user(client, commander)
    response = preview_post(client, incident, http_target, param_replicas="99")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Ensure this value is less than or equal to 20." in html  # the form's own check
    assert ActionRequest.objects.count() == 0

    response = preview_post(client, incident, http_target, param_replicas="")
    assert response.status_code == 400 and "This field is required." in response.content.decode()

    response = preview_post(client, incident, http_target, action="test.unknown")
    assert response.status_code == 400
    assert "cannot act on any of" in response.content.decode()

    response = client.post(
        reverse("diagnostics:action_new", args=[incident.number]),
        {"action": "test.page_scale", "target": "999999", "param_replicas": "6"},
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()

    STATE["refuse"] = "the counter is locked"
    response = preview_post(client, incident, http_target, follow=True)
    assert "Refused: the counter is locked" in messages_of(response)
    refused = ActionRequest.objects.get()
    assert refused.state == ActionState.REFUSED
    html = response.content.decode()
    assert "Confirm and run" not in html and "Preview again" in html

    Incident.objects.filter(pk=incident.pk).update(status="closed")
    response = preview_post(client, incident, http_target, follow=True)
    assert any("is closed" in text for text in messages_of(response))
    assert ActionRequest.objects.count() == 1


def test_service_param_errors_land_on_their_fields(client, commander, incident, http_target):
    """The action's serializer judges; its errors come back onto the matching fields."""
    response = preview_post(as_user(client, commander), incident, http_target, param_note="x" * 201)
    assert response.status_code == 400
    html = response.content.decode()
    note_field = html.split('name="param_note"')[1].split("</div>")[0]
    assert "200 characters" in note_field


def test_escaped_everywhere(client, commander, incident, http_target):
    as_user(client, commander)
    preview_post(client, incident, http_target, param_note="<script>alert(1)</script>")
    found = ActionRequest.objects.get()
    for html in (
        page(client, found),
        client.get(reverse("incidents:detail", args=[incident.number])).content.decode(),
    ):
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- Panel, list, timeline --------------------------------------------------------------------


def test_panel_lists_recent_actions_and_offers_remediate(
    client, responder, commander, incident, http_target
):
    issued = issue(incident, http_target, commander)
    html = panel(
        as_user(client, responder)
        .get(reverse("incidents:detail", args=[incident.number]))
        .content.decode()
    )
    assert "Remediation" in html and "Remediate…" in html
    assert reverse("diagnostics:action_new", args=[incident.number]) in html
    assert reverse("diagnostics:action", args=[issued.request.pk]) in html
    assert '<span class="astate astate-previewed">Previewed</span>' in html
    assert "Scale api from 3 to 6" in html


def test_timeline_shows_each_phase_with_words_changes_and_a_link(
    client, commander, viewer, incident, http_target, run_inline
):
    issued = issue(incident, http_target, commander)
    with run_inline():
        remediation.action_confirm(request=issued.request, token=issued.token, by=commander)
    html = as_user(client, viewer).get(reverse("incidents:detail", args=[incident.number]))
    html = html.content.decode()
    timeline = html.split('id="timeline"')[1]
    for word in ("Previewed", "Requested", "Started", "Step OK", "Done"):
        assert f">{word}</span>" in timeline
    assert "event-aphase-done" in timeline
    assert "<strong>patch replicas</strong>: set to 6" in timeline
    assert timeline.count("<td>replicas of the counter</td>") == 2  # previewed and requested
    link = reverse("diagnostics:action", args=[issued.request.pk])
    assert timeline.count(f'href="{link}"') == 5


@pytest.mark.parametrize(
    "name", ["incidents:detail", "diagnostics:incident_actions", "diagnostics:incident"]
)
def test_query_count_does_not_grow_with_actions(
    client, viewer, commander, incident, http_target, django_assert_max_num_queries, name
):
    issue(incident, http_target, commander)
    url = reverse(name, args=[incident.number])
    as_user(client, viewer)
    with django_assert_max_num_queries(40) as one:
        assert client.get(url).status_code == 200
    for _ in range(19):
        issue(incident, http_target, commander)
    assert ActionRequest.objects.count() == 20
    with django_assert_max_num_queries(len(one.captured_queries)):
        html = client.get(url).content.decode()
    if name == "diagnostics:incident_actions":
        assert html.count('class="dx-action-row"') == 20


def test_action_page_query_count_is_fixed(
    client, commander, incident, http_target, django_assert_max_num_queries
):
    issued = issue(incident, http_target, commander)
    as_user(client, commander)
    with django_assert_max_num_queries(12):
        page(client, issued.request)


# --- Suggestions from probe findings ----------------------------------------------------------


def test_run_pages_link_findings_to_a_prefilled_preview(
    client, responder, viewer, incident, http_target, finished_set
):
    run = finished_set(1).runs.get()  # critical, with a pods table: the action suggests itself
    html = as_user(client, responder).get(reverse("diagnostics:run", args=[run.pk])).content
    html = html.decode()
    assert "Suggested actions" in html
    link = re.search(r'href="([^"]+)">Preview: Scale the counter to 6<', html).group(1)
    link = link.replace("&amp;", "&")
    query = parse_qs(urlsplit(link).query)
    assert urlsplit(link).path == reverse("diagnostics:action_new", args=[incident.number])
    assert query == {
        "action": ["test.page_scale"],
        "target": [str(http_target.pk)],
        "run": [str(run.pk)],
        "params": ['{"replicas": 6}'],
    }
    form = client.get(link).content.decode()
    assert 'name="param_replicas" value="6"' in form
    assert f'<option value="{http_target.pk}" selected>' in form
    assert f'name="run" value="{run.pk}"' in form and f"probe run #{run.pk}" in form
    for name, arg in (
        ("incidents:detail", incident.number),
        ("diagnostics:incident", incident.number),
    ):
        assert (
            "Preview: Scale the counter to 6"
            in client.get(reverse(name, args=[arg])).content.decode()
        )

    response = client.post(
        reverse("diagnostics:action_new", args=[incident.number]),
        {
            "action": "test.page_scale",
            "target": http_target.pk,
            "param_replicas": "6",
            "run": run.pk,
        },
    )
    assert response.status_code == 302
    assert ActionRequest.objects.get().from_run == run

    viewer_html = as_user(client, viewer).get(reverse("diagnostics:run", args=[run.pk])).content
    assert b"Preview: " not in viewer_html and b"Suggested actions" not in viewer_html


def test_prefill_from_another_incidents_run_is_not_recorded(
    client, commander, incident, checkout, http_target, finished_set
):
    run = finished_set(1).runs.get()
    other = incident_declare(
        title="Checkout slow", severity="P3", by=commander, commander=commander, services=[checkout]
    )
    preview_post(as_user(client, commander), other, http_target, run=run.pk)
    assert ActionRequest.objects.get().from_run is None
