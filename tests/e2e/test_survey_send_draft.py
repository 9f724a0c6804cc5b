"""A quality manager sends a ready draft campaign straight from its page, after confirming (#24)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from apps.accounts.roles import Role
from apps.audit.models import AuditEntry
from apps.surveys.models import Campaign
from tests.factories import UserFactory
from tests.surveys.factories import CampaignFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_sends_a_draft_after_confirming_it(page: Page, sign_in: Callable[..., None]) -> None:
    manager = UserFactory(email="qm@example.com", full_name="Quinn Manager", role=Role.QUALITY_MANAGER)
    draft = CampaignFactory(name="Spring pulse", status=Campaign.Status.DRAFT, owner=manager, next_run_at=None)
    sign_in(page, manager.email)

    page.goto(f"/surveys/campaigns/{draft.pk}/")
    page.get_by_test_id("send-draft").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Send “Spring pulse” now?")
    expect(page.get_by_test_id("send-summary")).to_contain_text("Segments: Enterprise")
    # Nothing happens until the person confirms.
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT

    with page.expect_navigation():
        page.get_by_test_id("confirm-send").click()

    expect(page.get_by_text("“Spring pulse” is being sent now.")).to_be_visible()
    expect(page.get_by_test_id("send-draft")).to_have_count(0)
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.SCHEDULED

    # Back to the confirmation: it is gone (the campaign left draft), so nothing is sent twice.
    page.go_back()
    expect(page).to_have_url(f"{page.url.split('/surveys/')[0]}/surveys/campaigns/{draft.pk}/")
    expect(page.get_by_test_id("confirm-send")).to_have_count(0)
    assert AuditEntry.objects.for_object(draft).filter(reason__icontains="send now").count() == 1


def test_staff_without_the_capability_get_no_button_and_no_page(page: Page, sign_in: Callable[..., None]) -> None:
    manager = UserFactory(email="qm@example.com", role=Role.QUALITY_MANAGER)
    staff = UserFactory(email="staff@example.com", role=Role.STAFF)
    draft = CampaignFactory(status=Campaign.Status.DRAFT, owner=manager, next_run_at=None)
    sign_in(page, staff.email)

    page.goto(f"/surveys/campaigns/{draft.pk}/")
    expect(page.get_by_test_id("send-draft")).to_have_count(0)
    response = page.goto(f"/surveys/campaigns/{draft.pk}/send-draft/")
    assert response is not None
    assert response.status == 403
