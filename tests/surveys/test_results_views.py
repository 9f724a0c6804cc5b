"""Results pages, the CSV export and the customer 360 panel: who may see them and what they show."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.surveys.models import Campaign, QuestionKind
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.factories import UserFactory
from tests.surveys.factories import CampaignFactory
from tests.surveys.test_responses import make_invitation, make_wave, submit


@pytest.fixture
def campaign(db):
    campaign = CampaignFactory(status=Campaign.Status.ACTIVE, name="Relationship 2026")
    wave = make_wave(campaign)
    enterprise = CustomerFactory(segment="Enterprise", name="Acme Ltd")
    submit(make_invitation(wave, customer=enterprise), nps=10, csat=5, text='=HYPERLINK("http://evil")')
    submit(make_invitation(wave, customer=enterprise), nps=9, csat=4, multiple=["Price", "Speed"], text="Quick, kind")
    submit(make_invitation(wave, customer=CustomerFactory(segment="SMB")), nps=2, csat=2, single="Portal")
    make_invitation(wave)
    return campaign


def results_url(campaign) -> str:
    return reverse("surveys:campaign_results", args=[campaign.pk])


def export_url(campaign) -> str:
    return reverse("surveys:campaign_export", args=[campaign.pk])


def test_url_names_resolve_to_the_agreed_paths():
    assert reverse("surveys:results") == "/surveys/results/"
    assert reverse("surveys:campaign_results", args=[7]) == "/surveys/campaigns/7/results/"
    assert reverse("surveys:campaign_export", args=[7]) == "/surveys/campaigns/7/responses.csv"


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 200), ("auditor", 200), ("anonymous", 302)],
)
@pytest.mark.parametrize("page", ["campaign", "across"])
def test_results_pages_role_matrix(clients, campaign, persona, expected, page):
    url = results_url(campaign) if page == "campaign" else reverse("surveys:results")
    response = clients[persona].get(url)
    assert response.status_code == expected
    if expected == 302:
        assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize("page", ["campaign", "across"])
def test_users_without_a_role_are_refused(client, campaign, page):
    client.force_login(UserFactory())
    url = results_url(campaign) if page == "campaign" else reverse("surveys:results")
    assert client.get(url).status_code == 403


def test_unknown_campaign_is_404(clients, db):
    assert clients["quality_manager"].get(reverse("surveys:campaign_results", args=[999999])).status_code == 404
    assert clients["quality_manager"].get(reverse("surveys:campaign_export", args=[999999])).status_code == 404


def test_campaign_page_shows_figures_tables_and_the_warning(clients, campaign):
    html = clients["auditor"].get(results_url(campaign)).content.decode()
    # NPS: 2 promoters, 1 detractor of 3 -> 33; CSAT 2 of 3 -> 66.7 %; 3 of 4 invitations answered.
    assert '<p class="display-6 mb-1" data-testid="nps">33</p>' in html
    assert '<p class="display-6 mb-1" data-testid="csat">66.7%</p>' in html
    assert '<p class="display-6 mb-1" data-testid="response-rate">75.0%</p>' in html
    assert 'data-testid="low-confidence"' in html
    assert 'data-testid="distribution-nps"' in html
    assert '<rect x="0" y="1" height="12" width="33.33%"' in html  # NPS 10: 1 of 3
    assert "Quick, kind" not in html  # free text, masked: auditors lack the personal-data permission
    assert "[personal data]" in html
    assert "Quick, kind" in clients["quality_manager"].get(results_url(campaign)).content.decode()
    assert "Acme Ltd" in html
    assert "style=" not in html
    assert 'data-testid="export-link"' not in html  # auditors do not export


def test_filters_narrow_the_page(clients, campaign):
    html = clients["staff"].get(results_url(campaign), {"segment": "Enterprise"}).content.decode()
    assert '<p class="display-6 mb-1" data-testid="nps">100</p>' in html


def test_cross_campaign_page_filters_by_campaign(clients, campaign):
    other = make_invitation(make_wave(CampaignFactory(status=Campaign.Status.ACTIVE)))
    submit(other, nps=0, csat=1)
    everything = clients["staff"].get(reverse("surveys:results")).content.decode()
    assert '<p class="display-6 mb-1" data-testid="nps">0</p>' in everything  # 2 promoters, 2 detractors
    only = clients["staff"].get(reverse("surveys:results"), {"campaign": campaign.pk}).content.decode()
    assert '<p class="display-6 mb-1" data-testid="nps">33</p>' in only


def test_response_rate_is_the_selectors_rate_with_one_decimal(clients, campaign):
    wave = campaign.waves.get()
    make_invitation(wave)
    make_invitation(wave)
    submit(make_invitation(wave), nps=9, csat=5)  # 4 of 7 sent answered = 57.14 %
    html = clients["staff"].get(results_url(campaign)).content.decode()
    assert '<p class="display-6 mb-1" data-testid="response-rate">57.1%</p>' in html


def test_period_filter_says_what_the_response_rate_counts(clients, campaign):
    plain = clients["staff"].get(results_url(campaign)).content.decode()
    assert 'data-testid="rate-period"' not in plain
    assert "Answered from" not in plain
    assert "Period from" in plain
    dated = clients["staff"].get(results_url(campaign), {"date_from": "2020-01-01"}).content.decode()
    assert 'data-testid="rate-period"' in dated
    assert "Counts the invitations sent in the period" in dated


def test_segment_choices_come_from_the_customers_selector(clients, campaign, monkeypatch):
    from apps.surveys import results_views

    monkeypatch.setattr(results_views, "customer_segments", lambda: ["Public sector"])
    html = clients["staff"].get(reverse("surveys:results")).content.decode()
    assert '<option value="Public sector">Public sector</option>' in html
    assert '<option value="SMB">' not in html


def test_erased_respondents_text_is_gone_from_the_page_and_the_export(clients, campaign, quality_manager):
    from apps.customers import services as customer_services

    response = campaign.responses.get(customer__name="Acme Ltd", answers__kind="multiple")
    customer_services.contact_erase(
        contact_id=response.invitation.contact_id, actor=quality_manager, reason="Asked to be forgotten"
    )
    client = clients["quality_manager"]
    html = client.get(results_url(campaign)).content.decode()
    assert "Quick, kind" not in html
    assert "HYPERLINK" in html  # the other respondent's text stays
    assert '<p class="display-6 mb-1" data-testid="nps">33</p>' in html  # scores stay
    rows = _csv(client.get(export_url(campaign)))
    assert len(rows) == 4
    assert "Quick, kind" not in "".join(",".join(row) for row in rows)


def test_invalid_filters_fall_back_to_everything(clients, campaign):
    response = clients["staff"].get(results_url(campaign), {"date_from": "not-a-date", "product": "x"})
    assert response.status_code == 200
    assert '<p class="display-6 mb-1" data-testid="nps">33</p>' in response.content.decode()


def test_pages_take_a_bounded_number_of_queries(clients, campaign, django_assert_max_num_queries):
    client = clients["quality_manager"]
    with django_assert_max_num_queries(25):
        assert client.get(results_url(campaign)).status_code == 200
    with django_assert_max_num_queries(21):
        assert client.get(reverse("surveys:results")).status_code == 200


# --- export ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("staff", 403), ("auditor", 403), ("anonymous", 302)],
)
def test_export_role_matrix(clients, campaign, persona, expected):
    response = clients[persona].get(export_url(campaign))
    assert response.status_code == expected
    exported = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).count()
    assert exported == (1 if expected == 200 else 0)


def test_export_link_shows_only_with_the_permission(clients, campaign, staff):
    assert 'data-testid="export-link"' in clients["quality_manager"].get(results_url(campaign)).content.decode()
    assert 'data-testid="export-link"' not in clients["staff"].get(results_url(campaign)).content.decode()
    staff.user_permissions.add(Permission.objects.get(codename="export_responses"))
    assert 'data-testid="export-link"' in clients["staff"].get(results_url(campaign)).content.decode()
    assert clients["staff"].get(export_url(campaign)).status_code == 200


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_export_has_one_row_per_response_and_one_column_per_question(clients, campaign, quality_manager):
    response = clients["quality_manager"].get(export_url(campaign))

    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == f'attachment; filename="survey-campaign-{campaign.pk}-responses.csv"'
    rows = _csv(response)
    questions = list(campaign.template_version.questions.order_by("position"))
    assert rows[0] == ["response", "submitted_at", "wave", "customer", "segment", "product"] + [
        q.text for q in questions
    ]
    assert len(rows) == 4  # header + 3 responses, the unanswered invitation has no row
    by_kind = {q.kind: 6 + index for index, q in enumerate(questions)}
    first, second, third = rows[1:]
    assert (first[by_kind[QuestionKind.NPS]], first[by_kind[QuestionKind.CSAT]]) == ("10", "5")
    assert first[by_kind[QuestionKind.TEXT]] == '\'=HYPERLINK("http://evil")'  # never a live formula
    assert second[by_kind[QuestionKind.MULTIPLE_CHOICE]] == "Price; Speed"
    assert second[by_kind[QuestionKind.TEXT]] == "Quick, kind"
    assert (second[3], second[4]) == ("Acme Ltd", "Enterprise")
    assert third[by_kind[QuestionKind.SINGLE_CHOICE]] == "Portal"
    assert third[by_kind[QuestionKind.CES]] == ""
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert (entry.actor, entry.object_id, entry.changes) == (quality_manager, str(campaign.pk), {"responses": 3})


def test_export_query_count_does_not_grow_per_response(clients, campaign, django_assert_max_num_queries):
    client = clients["quality_manager"]
    with CaptureQueriesContext(connection) as few:
        _csv(client.get(export_url(campaign)))
    wave = campaign.waves.get()
    for _ in range(5):
        submit(make_invitation(wave), nps=7, csat=3)
    with django_assert_max_num_queries(len(few)):
        assert len(_csv(client.get(export_url(campaign)))) == 9


# --- customer 360 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "shown"), [("quality_manager", True), ("staff", True), ("auditor", True)])
def test_customer_page_shows_latest_scores(clients, db, persona, shown):
    customer = CustomerFactory()
    contact = ContactFactory(customer=customer, name="Carla Contact")
    wave = make_wave()
    submit(make_invitation(wave, contact=contact), nps=4, csat=3)
    html = clients[persona].get(reverse("customers:customer_detail", args=[customer.pk])).content.decode()
    assert ('data-testid="survey-scores"' in html) is shown
    assert "NPS 4/10" in html
    assert "CSAT 3/5" in html
    assert reverse("surveys:campaign_results", args=[wave.campaign_id]) in html
