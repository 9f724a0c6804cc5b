"""Questionnaire and campaign pages: who sees and does what, the forms, live progress, query counts."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import user_set_capabilities
from apps.surveys.models import (
    MANAGE_PERMISSION,
    Campaign,
    Delivery,
    Invitation,
    SurveyOptOut,
    SurveyTemplate,
    TemplateVersion,
    Wave,
)
from apps.surveys.services.permissions import has_perm
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.factories import UserFactory
from tests.surveys.factories import CampaignFactory, TemplateVersionFactory

Status = Campaign.Status
# campaign_staff holds the capability but does not own the quality manager's campaigns.
ROLES = ["quality_manager", "staff", "campaign_staff", "auditor", "anonymous"]


@pytest.fixture
def campaign_staff(other_staff, quality_manager):
    """other_staff, given the "run survey campaigns" capability on the People page."""
    user_set_capabilities(user_id=other_staff.pk, permissions={MANAGE_PERMISSION}, actor=quality_manager)
    return User.objects.get(pk=other_staff.pk)


@pytest.fixture
def web(clients, campaign_staff):
    """The personas' clients plus one for staff holding the capability."""
    client = Client()
    client.force_login(campaign_staff)
    return {**clients, "campaign_staff": client}


@pytest.fixture
def campaign(quality_manager):
    return CampaignFactory(status=Status.DRAFT, owner=quality_manager, next_run_at=timezone.now() + timedelta(days=3))


def add_wave(campaign, number=1):
    now = timezone.now()
    Campaign.objects.filter(pk=campaign.pk).unaudited_update(last_wave_number=number, status=Status.ACTIVE)
    return Wave.objects.create(
        campaign=campaign, number=number, scheduled_for=now - timedelta(days=number), closes_at=now + timedelta(days=9)
    )


def invite(wave, contact, status=Invitation.Status.SENT, **kwargs):
    return Invitation.objects.create(
        wave=wave, campaign=wave.campaign, contact=contact, customer=contact.customer, status=status, **kwargs
    )


def formset(rows, prefix="questions"):
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0"}
    for n, row in enumerate(rows):
        data.update({f"{prefix}-{n}-{key}": value for key, value in row.items()})
    return data


# Session, user, the changelist's counts, its rows and the filters: the same for 2 rows or 12.
ADMIN_LIST_QUERIES = 8
TEMPLATE_POST = {"name": "Onboarding", "description": "", "title": "Welcome", "introduction": "", "thank_you": ""}
NPS_ROW = {"kind": "nps", "text": "Recommend us?", "help_text": "", "required": "on", "choices": ""}
BLANK_ROW = {"kind": "nps", "text": "", "help_text": "", "required": "on", "choices": ""}


# Role x outcome -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("campaign_list", [200, 200, 200, 200, 302]),
        ("campaign_detail", [200, 200, 200, 200, 302]),
        ("campaign_progress", [200, 200, 200, 200, 302]),
        ("campaign_create", [200, 403, 200, 403, 302]),
        ("campaign_edit", [200, 403, 403, 403, 302]),
        ("campaign_import", [200, 403, 403, 403, 302]),
        ("template_list", [200, 200, 200, 200, 302]),
        ("template_detail", [200, 200, 200, 200, 302]),
        ("template_create", [200, 403, 403, 403, 302]),
        ("template_edit", [200, 403, 403, 403, 302]),
    ],
)
def test_pages_role_matrix(web, campaign, name, expected):
    kwargs = {"pk": campaign.template_version.template_id} if name.startswith("template_") else {"pk": campaign.pk}
    if name in ("campaign_list", "campaign_create", "template_list", "template_create"):
        kwargs = {}
    url = reverse(f"surveys:{name}", kwargs=kwargs)
    codes = [web[role].get(url).status_code for role in ROLES]
    assert codes == expected
    assert web["anonymous"].get(url).url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize(
    ("role", "expected", "status_after"),
    [
        ("quality_manager", 302, Status.SCHEDULED),
        ("campaign_staff", 403, Status.DRAFT),
        ("staff", 403, Status.DRAFT),
        ("auditor", 403, Status.DRAFT),
        ("anonymous", 302, Status.DRAFT),
    ],
)
def test_only_campaign_runners_schedule(web, campaign, role, expected, status_after):
    response = web[role].post(reverse("surveys:campaign_schedule", args=[campaign.pk]))
    assert response.status_code == expected
    assert Campaign.objects.get(pk=campaign.pk).status == status_after


@pytest.mark.parametrize(
    ("role", "expected"), [("staff", 403), ("campaign_staff", 403), ("auditor", 403), ("anonymous", 302)]
)
@pytest.mark.parametrize(
    "action", ["campaign_unschedule", "campaign_cancel", "campaign_send_now", "campaign_edit", "campaign_import"]
)
def test_readers_and_other_managers_change_nothing_by_post(web, quality_manager, role, expected, action):
    campaign = CampaignFactory(status=Status.SCHEDULED, owner=quality_manager)
    before = campaign.next_run_at
    response = web[role].post(reverse(f"surveys:{action}", args=[campaign.pk]), {"reason": "x", "name": "Hacked"})
    assert response.status_code == expected
    campaign.refresh_from_db()
    assert (campaign.status, campaign.name, campaign.next_run_at) == (Status.SCHEDULED, campaign.name, before)
    assert campaign.name != "Hacked"


@pytest.mark.parametrize(("role", "expected"), [("campaign_staff", 403), ("auditor", 403), ("anonymous", 302)])
def test_only_quality_managers_post_questionnaires(web, role, expected):
    version = TemplateVersionFactory()
    create = web[role].post(reverse("surveys:template_create"), {**TEMPLATE_POST, **formset([NPS_ROW])})
    retire = web[role].post(reverse("surveys:template_set_active", args=[version.template_id]), {"active": "0"})
    assert (create.status_code, retire.status_code) == (expected, expected)
    assert SurveyTemplate.objects.count() == 1
    assert SurveyTemplate.objects.get().is_active


def test_unknown_records_are_404(web):
    for url in ["/surveys/campaigns/999999/", "/surveys/questionnaires/999999/", "/surveys/campaigns/999999/progress/"]:
        assert web["quality_manager"].get(url).status_code == 404, url
    assert web["quality_manager"].post("/surveys/campaigns/999999/schedule/").status_code == 404


@pytest.mark.parametrize(
    ("role", "buttons"),
    [("quality_manager", True), ("campaign_staff", False), ("staff", False), ("auditor", False)],
)
def test_detail_shows_buttons_only_to_those_who_may_use_them(web, campaign, role, buttons):
    content = web[role].get(reverse("surveys:campaign_detail", args=[campaign.pk])).content.decode()
    for name in ["campaign_schedule", "campaign_edit", "campaign_import", "campaign_cancel"]:
        assert (reverse(f"surveys:{name}", args=[campaign.pk]) in content) is buttons, name
    assert ('data-testid="campaign-actions"' in content) is buttons
    template_page = web[role].get(reverse("surveys:template_detail", args=[campaign.template_version.template_id]))
    assert (
        reverse("surveys:template_edit", args=[campaign.template_version.template_id]) in template_page.content.decode()
    ) is (role == "quality_manager")


def test_buttons_follow_the_status(web, quality_manager):
    scheduled = CampaignFactory(status=Status.SCHEDULED, owner=quality_manager)
    content = web["quality_manager"].get(reverse("surveys:campaign_detail", args=[scheduled.pk])).content.decode()
    assert reverse("surveys:campaign_unschedule", args=[scheduled.pk]) in content
    assert reverse("surveys:campaign_send_now", args=[scheduled.pk]) in content
    assert reverse("surveys:campaign_schedule", args=[scheduled.pk]) not in content
    cancelled = CampaignFactory(status=Status.CANCELLED, owner=quality_manager)
    content = web["quality_manager"].get(reverse("surveys:campaign_detail", args=[cancelled.pk])).content.decode()
    assert 'data-testid="campaign-actions"' not in content


def test_a_manager_changes_the_campaigns_they_own_and_quality_managers_change_them_too(web, campaign_staff):
    campaign = CampaignFactory(
        status=Status.DRAFT, owner=campaign_staff, next_run_at=timezone.now() + timedelta(days=3)
    )
    client = web["campaign_staff"]
    for name in ["campaign_edit", "campaign_import"]:
        assert client.get(reverse(f"surveys:{name}", args=[campaign.pk])).status_code == 200, name
    detail = reverse("surveys:campaign_detail", args=[campaign.pk])
    assert reverse("surveys:campaign_schedule", args=[campaign.pk]) in client.get(detail).content.decode()
    assert client.post(reverse("surveys:campaign_schedule", args=[campaign.pk])).status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).status == Status.SCHEDULED
    content = web["quality_manager"].get(detail).content.decode()
    assert reverse("surveys:campaign_unschedule", args=[campaign.pk]) in content
    assert web["quality_manager"].post(reverse("surveys:campaign_unschedule", args=[campaign.pk])).status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT


@pytest.mark.parametrize(
    ("status", "recurrence", "offered"),
    [
        (Status.SCHEDULED, "once", True),
        (Status.ACTIVE, "monthly", True),
        (Status.ACTIVE, "once", False),
        (Status.DRAFT, "monthly", False),
    ],
)
def test_send_now_is_offered_only_when_the_campaign_can_send_now(web, quality_manager, status, recurrence, offered):
    campaign = CampaignFactory(status=status, recurrence=recurrence, owner=quality_manager)
    content = web["quality_manager"].get(reverse("surveys:campaign_detail", args=[campaign.pk])).content.decode()
    assert (reverse("surveys:campaign_send_now", args=[campaign.pk]) in content) is offered


def test_navigation_shows_surveys_and_the_tabs_link_results_to_readers(web):
    for role in ["quality_manager", "staff", "auditor"]:
        nav = web[role].get(reverse("dashboard:home")).content.decode()
        assert f'href="{reverse("surveys:campaign_list")}"' in nav, role
    tabs = web["auditor"].get(reverse("surveys:campaign_list")).content.decode()
    assert reverse("surveys:results") in tabs
    assert reverse("surveys:template_list") in tabs


# Campaign workflow through the pages -----------------------------------------------------


def campaign_post(version, owner, **overrides):
    return {
        "name": "Relationship 2027",
        "description": "",
        "template_version": version.pk,
        "audience_kind": "segments",
        "audience_segments": ["Enterprise"],
        "recurrence": "quarterly",
        "next_run_at": "2030-01-15T09:00",
        "reminder_interval_days": "7",
        "max_reminders": "2",
        "close_after_days": "21",
        "fatigue_days": "30",
        "send_rate_per_minute": "600",
        "owner": owner.pk,
        **overrides,
    }


def test_create_offers_existing_segments_and_reads_the_time_in_the_organisations_zone(web, quality_manager, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    CustomerFactory(segment="Enterprise")
    CustomerFactory(segment="Public sector")
    version = TemplateVersionFactory()
    page = web["quality_manager"].get(reverse("surveys:campaign_create"))
    assert set(dict(page.context["form"].fields["audience_segments"].choices)) == {"Enterprise", "Public sector"}
    response = web["quality_manager"].post(reverse("surveys:campaign_create"), campaign_post(version, quality_manager))
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("surveys:campaign_detail", args=[campaign.pk])
    assert campaign.status == Status.DRAFT
    assert campaign.next_run_at == datetime(2030, 1, 15, 8, 0, tzinfo=UTC)
    detail = web["quality_manager"].get(response.url).content.decode()
    assert "2030-01-15 09:00 CET" in detail


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"audience_segments": []}, "audience_segments", "Choose at least one customer segment."),
        ({"next_run_at": "2001-01-01T10:00"}, "next_run_at", "The next send time must be in the future."),
        ({"max_reminders": "11"}, "max_reminders", "less than or equal to 10"),
        ({"audience_kind": "product"}, "audience_product", "Choose the product"),
    ],
)
def test_campaign_form_shows_why_it_was_refused(web, quality_manager, overrides, field, message):
    version = TemplateVersionFactory()
    CustomerFactory(segment="Enterprise")
    response = web["quality_manager"].post(
        reverse("surveys:campaign_create"), campaign_post(version, quality_manager, **overrides)
    )
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert not Campaign.objects.exists()


def test_edit_saves_changes_and_freezes_the_audience_after_the_first_wave(web, quality_manager):
    CustomerFactory(segment="Enterprise")
    CustomerFactory(segment="SME")
    campaign = CampaignFactory(status=Status.DRAFT, owner=quality_manager, recurrence="quarterly")
    url = reverse("surveys:campaign_edit", args=[campaign.pk])
    data = campaign_post(campaign.template_version, quality_manager, name="Renamed", audience_segments=["SME"])
    assert web["quality_manager"].post(url, data).status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.audience_segments) == ("Renamed", ["SME"])
    add_wave(campaign)
    form = web["quality_manager"].get(url).context["form"]
    assert form.fields["audience_segments"].disabled
    assert form.fields["template_version"].disabled
    assert form.fields["audience_emails"].disabled
    # A tampered post cannot change a disabled field: the form keeps the stored value.
    data = campaign_post(campaign.template_version, quality_manager, name="Again", audience_segments=["Enterprise"])
    assert web["quality_manager"].post(url, data).status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.audience_segments) == ("Again", ["SME"])


def contacts_post(version, owner, emails, **overrides):
    return campaign_post(
        version, owner, audience_kind="contacts", audience_segments=[], audience_emails=emails, **overrides
    )


def test_pasted_addresses_choose_consenting_contacts(web, quality_manager):
    version = TemplateVersionFactory()
    customer = CustomerFactory()
    ann = ContactFactory(customer=customer, email="ann@example.com", survey_consent=True)
    ben = ContactFactory(customer=customer, email="Ben@Example.com", survey_consent=True)
    emails = "ann@example.com, ben@example.com\n\n ANN@example.com;\n"
    response = web["quality_manager"].post(
        reverse("surveys:campaign_create"), contacts_post(version, quality_manager, emails)
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.audience_kind == "contacts"
    assert set(campaign.audience_contacts.values_list("pk", flat=True)) == {ann.pk, ben.pk}


def test_pasted_addresses_that_may_not_be_surveyed_are_refused_by_address(web, quality_manager):
    version = TemplateVersionFactory()
    customer = CustomerFactory()
    ContactFactory(customer=customer, email="ok@example.com", survey_consent=True)
    opted_out = ContactFactory(customer=customer, email="opted@example.com", survey_consent=True)
    SurveyOptOut.objects.create(contact=opted_out)
    ContactFactory(customer=customer, email="unwilling@example.com", survey_consent=False)
    emails = "ok@example.com\nopted@example.com\nunwilling@example.com\nnobody@example.com"
    response = web["quality_manager"].post(
        reverse("surveys:campaign_create"), contacts_post(version, quality_manager, emails)
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["audience_emails"]
    assert [error.split(":")[0] for error in errors] == [
        "opted@example.com",
        "unwilling@example.com",
        "nobody@example.com",
    ]
    assert "opted out" in errors[0]
    assert "nobody@example.com" in response.content.decode()
    assert not Campaign.objects.exists()


def test_pasted_addresses_need_the_chosen_contacts_audience(web, quality_manager):
    CustomerFactory(segment="Enterprise")
    ContactFactory(email="ann@example.com", survey_consent=True)
    data = campaign_post(TemplateVersionFactory(), quality_manager, audience_emails="ann@example.com")
    response = web["quality_manager"].post(reverse("surveys:campaign_create"), data)
    assert response.status_code == 200
    assert "Chosen contacts" in response.context["form"].errors["audience_emails"][0]
    assert not Campaign.objects.exists()


def test_campaign_form_lists_only_the_chosen_contacts(web, quality_manager):
    customer = CustomerFactory()
    chosen = ContactFactory(customer=customer, name="Chosen Person", survey_consent=True)
    ContactFactory(customer=customer, name="Other Person", survey_consent=True)
    create_page = web["quality_manager"].get(reverse("surveys:campaign_create")).content.decode()
    assert "Other Person" not in create_page
    assert "Chosen Person" not in create_page
    assert 'name="audience_emails"' in create_page
    assert 'name="audience_contacts"' not in create_page
    campaign = CampaignFactory(owner=quality_manager, status=Status.DRAFT, audience_kind="contacts")
    campaign.audience_contacts.set([chosen])
    edit_page = web["quality_manager"].get(reverse("surveys:campaign_edit", args=[campaign.pk])).content.decode()
    assert "Chosen Person" in edit_page
    assert "Other Person" not in edit_page


def test_edit_unticks_chosen_contacts_adds_pasted_ones_and_refuses_forged_ids(web, quality_manager):
    customer = CustomerFactory()
    keep, drop, new, stranger = (
        ContactFactory(customer=customer, email=f"{name}@example.com", survey_consent=True)
        for name in ("keep", "drop", "new", "stranger")
    )
    campaign = CampaignFactory(
        owner=quality_manager, status=Status.DRAFT, audience_kind="contacts", audience_segments=[]
    )
    campaign.audience_contacts.set([keep, drop])
    url = reverse("surveys:campaign_edit", args=[campaign.pk])
    data = contacts_post(campaign.template_version, quality_manager, "new@example.com", audience_contacts=[keep.pk])
    assert web["quality_manager"].post(url, data).status_code == 302
    assert set(campaign.audience_contacts.values_list("pk", flat=True)) == {keep.pk, new.pk}
    forged = contacts_post(campaign.template_version, quality_manager, "", audience_contacts=[keep.pk, stranger.pk])
    response = web["quality_manager"].post(url, forged)
    assert response.status_code == 200
    assert "audience_contacts" in response.context["form"].errors
    assert set(campaign.audience_contacts.values_list("pk", flat=True)) == {keep.pk, new.pk}


def test_edit_of_a_cancelled_campaign_goes_back_to_its_page(web, quality_manager):
    campaign = CampaignFactory(status=Status.CANCELLED, owner=quality_manager)
    response = web["quality_manager"].get(reverse("surveys:campaign_edit", args=[campaign.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("surveys:campaign_detail", args=[campaign.pk])
    assert "can no longer be changed" in response.content.decode()


def test_schedule_unschedule_and_cancel_from_the_page(web, campaign):
    client = web["quality_manager"]
    client.post(reverse("surveys:campaign_schedule", args=[campaign.pk]))
    assert Campaign.objects.get(pk=campaign.pk).status == Status.SCHEDULED
    client.post(reverse("surveys:campaign_unschedule", args=[campaign.pk]))
    assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT
    refused = client.post(reverse("surveys:campaign_cancel", args=[campaign.pk]), {"reason": ""}, follow=True)
    assert "Say why the campaign is cancelled." in refused.content.decode()
    client.post(reverse("surveys:campaign_cancel", args=[campaign.pk]), {"reason": "Merged into another"})
    assert Campaign.objects.get(pk=campaign.pk).status == Status.CANCELLED


def test_refused_step_is_shown_as_a_message(web, quality_manager):
    campaign = CampaignFactory(status=Status.DRAFT, owner=quality_manager, next_run_at=None)
    response = web["quality_manager"].post(reverse("surveys:campaign_schedule", args=[campaign.pk]), follow=True)
    assert "Set a next send time in the future before scheduling." in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == Status.DRAFT


def test_send_now_moves_the_next_run_to_now(web, quality_manager):
    campaign = CampaignFactory(status=Status.SCHEDULED, owner=quality_manager)
    response = web["quality_manager"].post(reverse("surveys:campaign_send_now", args=[campaign.pk]))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.next_run_at <= timezone.now()


def test_csv_upload_through_the_page_lists_skipped_rows(web, campaign):
    customer = CustomerFactory()
    ContactFactory(customer=customer, email="yes@example.com", survey_consent=True)
    ContactFactory(customer=customer, email="no@example.com")
    upload = SimpleUploadedFile(
        "audience.csv", b"email\nyes@example.com\nno@example.com\nnobody@example.com\n", content_type="text/csv"
    )
    response = web["quality_manager"].post(reverse("surveys:campaign_import", args=[campaign.pk]), {"file": upload})
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="import-problems"' in content
    assert [problem.row for problem in response.context["result"].problems] == [3, 4]
    campaign.refresh_from_db()
    assert campaign.audience_kind == "contacts"
    assert campaign.audience_contacts.count() == 1
    wrong = SimpleUploadedFile("audience.txt", b"email\n", content_type="text/plain")
    refused = web["quality_manager"].post(reverse("surveys:campaign_import", args=[campaign.pk]), {"file": wrong})
    assert "file" in refused.context["form"].errors


# Live progress --------------------------------------------------------------------------


def test_detail_shows_counts_without_javascript_and_the_endpoint_serves_them(web, quality_manager):
    campaign = CampaignFactory(owner=quality_manager)
    wave = add_wave(campaign)
    customer = CustomerFactory()
    first, second = ContactFactory(customer=customer), ContactFactory(customer=customer)
    invite(wave, first, responded_at=timezone.now(), reminders_sent=1)
    invite(wave, second)
    page = web["auditor"].get(reverse("surveys:campaign_detail", args=[campaign.pk]))
    content = page.content.decode()
    assert 'data-progress-key="responded">1<' in content
    assert 'data-progress-key="response_rate">50.0 %<' in content
    assert 'data-progress-live="1"' in content
    assert "js/survey-progress.js" in content
    assert reverse("surveys:campaign_results", args=[campaign.pk]) in content
    data = web["auditor"].get(reverse("surveys:campaign_progress", args=[campaign.pk])).json()
    assert data["counts"] == {
        "invited": 2,
        "sent": 2,
        "failed": 0,
        "skipped": 0,
        "reminded": 1,
        "responded": 1,
        "response_rate": 0.5,
    }
    assert (data["live"], data["display"]["response_rate"], data["status"]) == (True, "50.0 %", "active")
    assert "token" not in str(data)
    assert "nonce" not in str(data)


def test_rates_follow_the_language_of_the_page(web, quality_manager):
    campaign = CampaignFactory(owner=quality_manager)
    wave = add_wave(campaign)
    customer = CustomerFactory()
    invite(wave, ContactFactory(customer=customer), responded_at=timezone.now())
    invite(wave, ContactFactory(customer=customer))
    page = web["auditor"].get(reverse("surveys:campaign_detail", args=[campaign.pk]), HTTP_ACCEPT_LANGUAGE="de")
    assert 'data-progress-key="response_rate">50,0 %<' in page.content.decode()
    assert page.context["waves"][0].rate_display == "50,0 %"
    data = web["auditor"].get(reverse("surveys:campaign_progress", args=[campaign.pk]), HTTP_ACCEPT_LANGUAGE="de")
    assert data.json()["display"]["response_rate"] == "50,0 %"


def test_finished_campaign_page_does_not_poll(web, quality_manager):
    campaign = CampaignFactory(status=Status.COMPLETED, owner=quality_manager)
    content = web["staff"].get(reverse("surveys:campaign_detail", args=[campaign.pk])).content.decode()
    assert "data-progress-live" not in content
    assert web["staff"].get(reverse("surveys:campaign_progress", args=[campaign.pk])).json()["live"] is False


# Questionnaire pages ----------------------------------------------------------------------


def test_create_questionnaire_with_blank_rows_ignored(web):
    choice = {"kind": "single", "text": "Channel?", "help_text": "", "choices": "Phone\nE-mail\n"}
    data = {**TEMPLATE_POST, **formset([NPS_ROW, BLANK_ROW, choice, BLANK_ROW])}
    response = web["quality_manager"].post(reverse("surveys:template_create"), data)
    template = SurveyTemplate.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("surveys:template_detail", args=[template.pk])
    questions = list(template.versions.get().questions.order_by("position"))
    assert [(q.kind, q.required, q.choices) for q in questions] == [
        ("nps", True, []),
        ("single", False, ["Phone", "E-mail"]),
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([BLANK_ROW, BLANK_ROW], "Add at least one question."),
        (
            [{**NPS_ROW, "kind": "multiple", "choices": "Only"}],
            "Question 1: a choice question needs at least 2 choices.",
        ),
        ([{**NPS_ROW, "choices": "A\nB"}], "Question 1: only choice questions have choices."),
    ],
)
def test_questionnaire_form_shows_the_validation_messages(web, rows, message):
    response = web["quality_manager"].post(reverse("surveys:template_create"), {**TEMPLATE_POST, **formset(rows)})
    assert response.status_code == 200
    assert message in response.context["formset"].non_form_errors()
    assert message in response.content.decode()
    assert not SurveyTemplate.objects.exists()


def test_add_more_rows_keeps_the_answers_and_adds_blank_rows(web):
    data = {**TEMPLATE_POST, **formset([NPS_ROW, BLANK_ROW]), "add_rows": "1"}
    response = web["quality_manager"].post(reverse("surveys:template_create"), data)
    assert response.status_code == 200
    formset_ = response.context["formset"]
    assert len(formset_.forms) == 1 + 3
    assert formset_.forms[0]["text"].value() == "Recommend us?"
    assert response.context["form"]["name"].value() == "Onboarding"
    assert not SurveyTemplate.objects.exists()
    assert 'role="alert"' not in response.content.decode()


def test_editing_a_sent_questionnaire_makes_a_new_version(web):
    version = TemplateVersionFactory()
    TemplateVersion.objects.filter(pk=version.pk).unaudited_update(locked_at=timezone.now())
    url = reverse("surveys:template_edit", args=[version.template_id])
    page = web["quality_manager"].get(url)
    assert 'data-testid="locked-notice"' in page.content.decode()
    assert len(page.context["formset"].forms) == 6 + 3
    data = {**TEMPLATE_POST, "name": version.template.name, **formset([NPS_ROW])}
    response = web["quality_manager"].post(url, data, follow=True)
    assert "your changes are version 2" in response.content.decode()
    assert list(TemplateVersion.objects.filter(template=version.template).values_list("number", flat=True)) == [2, 1]
    assert version.questions.count() == 6


def test_refused_rename_keeps_the_questions_unchanged(web, quality_manager):
    version = TemplateVersionFactory()
    TemplateVersionFactory(template__name="Taken")
    data = {**TEMPLATE_POST, "name": "taken", **formset([NPS_ROW])}
    response = web["quality_manager"].post(reverse("surveys:template_edit", args=[version.template_id]), data)
    assert response.status_code == 200
    assert "already exists" in str(response.context["form"].errors)
    assert version.questions.count() == 6


def test_detail_lists_versions_and_the_campaigns_using_them(web):
    campaign = CampaignFactory(name="Uses v1")
    content = (
        web["auditor"]
        .get(reverse("surveys:template_detail", args=[campaign.template_version.template_id]))
        .content.decode()
    )
    assert "Uses v1" in content
    assert "How likely are you to recommend us to a colleague?" in content


def test_retire_and_reactivate_from_the_page(web):
    version = TemplateVersionFactory()
    url = reverse("surveys:template_set_active", args=[version.template_id])
    web["quality_manager"].post(url, {"active": "0"})
    assert SurveyTemplate.objects.get().is_active is False
    web["quality_manager"].post(url, {"active": "1"})
    assert SurveyTemplate.objects.get().is_active is True


# Bounded queries ------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [3, 30])
def test_campaign_list_runs_a_bounded_number_of_queries(web, quality_manager, django_assert_max_num_queries, rows):
    for n in range(rows):
        CampaignFactory(owner=quality_manager, status=[Status.DRAFT, Status.SCHEDULED][n % 2])
    # Session, user, permissions, count and page: a fixed number, the same for 3 rows or 30.
    with django_assert_max_num_queries(7):
        response = web["staff"].get(reverse("surveys:campaign_list"))
    assert response.status_code == 200
    assert len(response.context["object_list"]) == min(rows, 25)
    filtered = web["staff"].get(reverse("surveys:campaign_list") + "?status=draft").context["object_list"]
    assert {campaign.status for campaign in filtered} == {Status.DRAFT}


@pytest.mark.parametrize("rows", [2, 20])
def test_template_list_runs_a_bounded_number_of_queries(web, django_assert_max_num_queries, rows):
    for _ in range(rows):
        CampaignFactory()
    with django_assert_max_num_queries(7):
        response = web["auditor"].get(reverse("surveys:template_list"))
    assert len(response.context["templates"]) == rows


@pytest.mark.parametrize("rows", [2, 30])
def test_campaign_detail_runs_a_bounded_number_of_queries(web, quality_manager, django_assert_max_num_queries, rows):
    campaign = CampaignFactory(owner=quality_manager)
    wave = add_wave(campaign)
    customer = CustomerFactory()
    for _ in range(rows):
        invitation = invite(wave, ContactFactory(customer=customer))
        Delivery.objects.create(invitation=invitation, outcome="sent", at=timezone.now())
    # The list's seven, plus campaign, progress, waves, audience count, deliveries page, history.
    with django_assert_max_num_queries(12):
        response = web["quality_manager"].get(reverse("surveys:campaign_detail", args=[campaign.pk]))
    assert response.status_code == 200
    assert len(response.context["page_obj"].object_list) == min(rows, 25)


def test_delivery_log_is_paginated(web, quality_manager):
    campaign = CampaignFactory(owner=quality_manager)
    wave = add_wave(campaign)
    customer = CustomerFactory()
    for _ in range(27):
        Delivery.objects.create(
            invitation=invite(wave, ContactFactory(customer=customer)), outcome="sent", at=timezone.now()
        )
    second = web["auditor"].get(reverse("surveys:campaign_detail", args=[campaign.pk]) + "?page=2")
    assert len(second.context["page_obj"].object_list) == 2


def test_service_guard_matches_the_page_permission(campaign_staff, staff):
    assert has_perm(campaign_staff, MANAGE_PERMISSION)
    assert not has_perm(staff, MANAGE_PERMISSION)


@pytest.mark.parametrize("versions", [1, 4])
def test_template_detail_runs_a_bounded_number_of_queries(
    web, quality_manager, django_assert_max_num_queries, versions
):
    first = TemplateVersionFactory()
    for number in range(2, versions + 1):
        version = TemplateVersionFactory(template=first.template, number=number)
        CampaignFactory(template_version=version)
    # Versions, their questions and their campaigns are three queries however many versions there are.
    with django_assert_max_num_queries(11):
        response = web["auditor"].get(reverse("surveys:template_detail", args=[first.template_id]))
    assert len(response.context["versions"]) == versions


def test_delivery_log_names_the_message_each_row_sent(web, quality_manager):
    campaign = CampaignFactory(owner=quality_manager)
    invitation = invite(add_wave(campaign), ContactFactory())
    Delivery.objects.create(invitation=invitation, outcome="sent", at=timezone.now() - timedelta(days=7))
    Delivery.objects.create(invitation=invitation, sequence=1, outcome="sent", at=timezone.now())
    content = web["auditor"].get(reverse("surveys:campaign_detail", args=[campaign.pk])).content.decode()
    assert '<th scope="col">Message</th>' in content
    assert '<th scope="col">E-mail</th>' not in content
    assert "<td>Reminder 1</td>" in content
    assert "<td>Invitation</td>" in content


@pytest.mark.parametrize("rows", [2, 12])
@pytest.mark.parametrize("model", ["delivery", "surveyoptout", "invitation", "response", "wave"])
def test_admin_lists_run_a_bounded_number_of_queries_and_show_no_contact_names(
    django_assert_max_num_queries, quality_manager, rows, model
):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    campaign = CampaignFactory(owner=quality_manager)
    wave = add_wave(campaign)
    customer = CustomerFactory()
    for n in range(rows):
        contact = ContactFactory(customer=customer, name=f"Secret Person {n}")
        invitation = invite(wave, contact)
        Delivery.objects.create(invitation=invitation, outcome="sent", at=timezone.now())
        SurveyOptOut.objects.create(contact=contact, invitation=invitation)
    with django_assert_max_num_queries(ADMIN_LIST_QUERIES):
        response = client.get(f"/admin/surveys/{model}/")
    assert response.status_code == 200
    assert "Secret Person" not in response.content.decode()
