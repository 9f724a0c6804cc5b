"""The read-only surveys API: role matrix, content, query counts, and no token anywhere."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.surveys.models import Campaign, QuestionKind, TemplateVersion
from tests.factories import UserFactory
from tests.surveys.factories import CampaignFactory
from tests.surveys.test_responses import make_invitation, make_wave, questions_by_kind, submit

LISTS = ["templates", "campaigns", "waves", "invitations", "responses"]


@pytest.fixture
def campaign(db):
    campaign = CampaignFactory(status=Campaign.Status.ACTIVE)
    wave = make_wave(campaign)
    submit(make_invitation(wave), nps=10, csat=5, multiple=["Speed"], text="Lovely")
    submit(make_invitation(wave), nps=3, csat=2)
    make_invitation(wave)
    make_invitation(wave, sent=False)
    return campaign


def list_url(name: str) -> str:
    return f"/api/v1/surveys/{name}/"


def detail_url(name: str, campaign: Campaign) -> str:
    obj = {
        "templates": campaign.template_version.template,
        "campaigns": campaign,
        "waves": campaign.waves.first(),
        "invitations": campaign.invitations.first(),
        "responses": campaign.responses.first(),
    }[name]
    return f"/api/v1/surveys/{name}/{obj.pk}/"


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("auditor", 200), ("anonymous", 401)],
)
@pytest.mark.parametrize("name", LISTS)
def test_read_endpoints_role_matrix(api_clients, campaign, persona, expected, name):
    assert api_clients[persona].get(list_url(name)).status_code == expected
    assert api_clients[persona].get(detail_url(name, campaign)).status_code == expected


@pytest.mark.parametrize("name", LISTS)
def test_users_without_a_role_are_refused(campaign, name):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(UserFactory())
    assert client.get(list_url(name)).status_code == 403


@pytest.mark.parametrize("name", LISTS)
def test_unknown_ids_are_404(api_clients, db, name):
    assert api_clients["auditor"].get(f"/api/v1/surveys/{name}/999999/").status_code == 404


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_api_is_read_only(api_clients, campaign, name, method):
    client = api_clients["quality_manager"]
    assert getattr(client, method)(
        list_url(name) if method == "post" else detail_url(name, campaign), {}
    ).status_code in (
        403,
        405,
    )


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("auditor", 200), ("anonymous", 401)],
)
@pytest.mark.parametrize("scope", ["campaign", "across"])
def test_results_role_matrix(api_clients, campaign, persona, expected, scope):
    url = f"/api/v1/surveys/campaigns/{campaign.pk}/results/" if scope == "campaign" else "/api/v1/surveys/results/"
    assert api_clients[persona].get(url).status_code == expected


def test_results_endpoint_has_its_own_api_view_name():
    """Not a second `ResultsView` next to the results page's (apps.surveys.results_views)."""
    from django.urls import resolve

    from apps.surveys.api import views

    assert resolve("/api/v1/surveys/results/").func.view_class is views.ResultsAPIView
    assert not hasattr(views, "ResultsView")


@pytest.mark.parametrize("pk", ["%C3%AB4%C3%80+", "999999999"])
def test_campaign_results_of_a_missing_or_malformed_id_is_a_json_404(api_clients, campaign, pk):
    # Found by the API fuzz test: a non-numeric id was a 500.
    response = api_clients["quality_manager"].get(f"/api/v1/surveys/campaigns/{pk}/results/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_campaign_results_carry_the_figures(api_clients, campaign):
    data = api_clients["auditor"].get(f"/api/v1/surveys/campaigns/{campaign.pk}/results/").json()
    assert data["rate"] == {"sent": 3, "responded": 2, "rate": pytest.approx(2 / 3)}
    nps = data["scores"]["nps"]
    assert (nps["n"], nps["promoters"], nps["detractors"], nps["score"]) == (2, 1, 1, 0.0)
    assert nps["low_confidence"] is True
    assert set(nps["ci"]) == {"low", "high"}
    assert data["scores"]["csat"]["percent"] == 50.0
    assert [w["number"] for w in data["waves"]] == [1]
    multiple = next(c for c in data["choices"] if c["kind"] == QuestionKind.MULTIPLE_CHOICE)
    assert {c["choice"]: c["count"] for c in multiple["counts"]} == {"Price": 0, "Speed": 1, "Quality": 0}
    assert data["filters"]["campaign_id"] == campaign.pk


def test_results_filters_are_validated_and_applied(api_clients, campaign):
    client = api_clients["staff"]
    assert client.get("/api/v1/surveys/results/", {"date_from": "yesterday"}).status_code == 400
    other = CampaignFactory(status=Campaign.Status.ACTIVE)
    submit(make_invitation(make_wave(other)), nps=10)
    everything = client.get("/api/v1/surveys/results/").json()
    assert everything["scores"]["nps"]["n"] == 3
    only = client.get("/api/v1/surveys/results/", {"campaign": other.pk}).json()
    assert only["scores"]["nps"]["score"] == 100.0
    assert client.get("/api/v1/surveys/results/", {"campaign": 999999}).status_code == 404
    assert client.get("/api/v1/surveys/campaigns/999999/results/").status_code == 404


def test_campaigns_carry_their_send_counts(api_clients, campaign):
    row = api_clients["auditor"].get(list_url("campaigns")).json()["results"][0]
    assert (row["invited"], row["sent"], row["responded"]) == (4, 3, 2)
    assert row["response_rate"] == pytest.approx(2 / 3)


def test_campaign_response_rate_is_the_results_definition(api_clients, campaign, monkeypatch):
    """One definition of a response rate (selectors.results.ResponseRate), the API's included."""
    from apps.surveys.selectors import results

    monkeypatch.setattr(results.ResponseRate, "rate", property(lambda rate: 0.125))
    row = api_clients["auditor"].get(list_url("campaigns")).json()["results"][0]
    assert row["response_rate"] == 0.125


def test_templates_carry_versions_and_questions(api_clients, campaign):
    version = campaign.template_version
    TemplateVersion.objects.create(template=version.template, number=2, title="v2")
    data = api_clients["auditor"].get(detail_url("templates", campaign)).json()
    assert [v["number"] for v in data["versions"]] == [2, 1]
    assert [q["kind"] for q in data["versions"][1]["questions"]] == [
        "nps",
        "csat",
        "ces",
        "single",
        "multiple",
        "text",
    ]


def test_responses_carry_answers_and_free_text(api_clients, campaign):
    rows = api_clients["quality_manager"].get(list_url("responses"), {"ordering": "id"}).json()["results"]
    first = rows[0]
    questions = questions_by_kind(campaign)
    assert {a["kind"]: a["score"] for a in first["answers"] if a["score"] is not None} == {"nps": 10, "csat": 5}
    assert first["text_answers"] == {str(questions[QuestionKind.TEXT].pk): "Lovely"}
    assert rows[1]["follow_up"] is not None  # the low score created follow-up feedback


def _grant_export(user) -> None:
    user.user_permissions.add(Permission.objects.get(codename="export_responses"))


@pytest.mark.parametrize(
    ("persona", "capability", "sees_text"),
    [
        ("quality_manager", False, True),
        ("staff", False, False),
        ("staff", True, True),
        ("auditor", False, False),
    ],
)
@pytest.mark.parametrize("endpoint", ["list", "detail"])
def test_free_text_only_for_those_who_may_export(
    api_clients, personas, campaign, persona, capability, sees_text, endpoint
):
    if capability:
        _grant_export(personas[persona])
    client = api_clients[persona]
    if endpoint == "list":
        rows = client.get(list_url("responses"), {"ordering": "id"}).json()["results"]
    else:
        rows = [client.get(f"/api/v1/surveys/responses/{campaign.responses.order_by('id').first().pk}/").json()]
    body = json.dumps(rows)
    assert ("Lovely" in body) is sees_text
    first = rows[0]
    assert {a["kind"]: a["score"] for a in first["answers"] if a["score"] is not None} == {"nps": 10, "csat": 5}
    if not sees_text:
        assert first["text_answers"] == {}


def test_erased_respondents_free_text_is_gone_from_the_api(api_clients, campaign, quality_manager):
    from apps.customers import services as customer_services

    response = campaign.responses.order_by("id").first()
    customer_services.contact_erase(
        contact_id=response.invitation.contact_id, actor=quality_manager, reason="Asked to be forgotten"
    )
    body = api_clients["quality_manager"].get(list_url("responses")).content.decode()
    assert "Lovely" not in body
    row = api_clients["quality_manager"].get(f"/api/v1/surveys/responses/{response.pk}/").json()
    assert row["text_answers"] == {}
    assert {a["kind"]: a["score"] for a in row["answers"] if a["score"] is not None} == {"nps": 10, "csat": 5}


@pytest.mark.parametrize("persona", ["auditor", "staff", "quality_manager"])
def test_no_token_nonce_or_hash_anywhere(api_clients, campaign, persona):
    invitations = list(campaign.invitations.all())
    secrets = [value for inv in invitations for value in (inv.token, inv.nonce, inv.token_hash)]
    client = api_clients[persona]
    bodies = [client.get(list_url(name)).content.decode() for name in LISTS]
    bodies += [client.get(detail_url(name, campaign)).content.decode() for name in LISTS]
    bodies.append(client.get(f"/api/v1/surveys/campaigns/{campaign.pk}/results/").content.decode())
    for body in bodies:
        for secret in secrets:
            assert secret not in body
    fields = set(json.loads(bodies[LISTS.index("invitations")])["results"][0])
    assert not fields & {"token", "nonce", "token_hash"}


@pytest.mark.parametrize("extra", [0, 6])
@pytest.mark.parametrize("name", LISTS)
def test_list_query_count_is_pinned(api_clients, campaign, django_assert_max_num_queries, name, extra):
    """The same bound at two sizes: a query per row would break it at the larger one."""
    wave = campaign.waves.get()
    for _ in range(extra):
        submit(make_invitation(wave), nps=8, csat=4, multiple=["Price"], text="More")
    with django_assert_max_num_queries(8):
        assert api_clients["quality_manager"].get(list_url(name)).status_code == 200


def test_schema_documents_the_surveys_endpoints(api_clients, db):
    schema = api_clients["auditor"].get(reverse("schema"), {"format": "json"}).json()
    paths = set(schema["paths"])
    for name in LISTS:
        assert f"/api/v1/surveys/{name}/" in paths
    assert "/api/v1/surveys/results/" in paths
    assert "/api/v1/surveys/campaigns/{id}/results/" in paths
    invitation = schema["components"]["schemas"]["Invitation"]["properties"]
    assert not set(invitation) & {"token", "nonce", "token_hash"}
