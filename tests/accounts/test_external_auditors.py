"""Time-limited, clause-limited accounts for external auditors (ISO 9001 9.2)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts import services
from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


def _expire(user: User, *, ago: timedelta = timedelta(seconds=1)) -> None:
    """Let the clock pass the account's last moment (the service refuses past dates)."""
    User.objects.filter(pk=user.pk).unaudited_update(access_expires_at=timezone.now() - ago)


@pytest.fixture
def external(db, quality_manager):
    return services.user_create(
        email="ext.auditor@audit-firm.example",
        full_name="Erin External",
        role=Role.AUDITOR,
        password=PASSWORD,
        actor=quality_manager,
        access_until=timezone.localdate() + timedelta(days=14),
    )


def test_access_lasts_through_the_last_day_in_the_organisations_time_zone(external):
    last_day = timezone.localdate() + timedelta(days=14)
    ends = timezone.localtime(external.access_expires_at)
    assert (ends.date(), ends.hour, ends.minute) == (last_day + timedelta(days=1), 0, 0)
    assert services.last_day_of_access(external) == last_day
    assert not external.access_expired


def test_an_expired_session_is_signed_out_at_its_next_request(external):
    client = Client()
    client.post("/accounts/login/", {"username": external.email, "password": PASSWORD})
    assert client.get("/audit/").status_code == 200
    _expire(external)
    response = client.get("/audit/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_expired_account_cannot_sign_in(external):
    _expire(external)
    client = Client()
    response = client.post("/accounts/login/", {"username": external.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_an_expired_accounts_api_token_stops_working(external):
    secret = services.api_token_issue(user=external, actor=external).secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/audit/entries/").status_code == 200
    _expire(external)
    response = client.get("/api/v1/audit/entries/")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_an_expired_account_holds_no_permission(external):
    assert external.has_perm("audit.view_auditentry")
    _expire(external)
    assert not User.objects.get(pk=external.pk).has_perm("audit.view_auditentry")


@pytest.fixture
def complaints_only(db, quality_manager):
    user = services.user_create(
        email="iso10002@audit-firm.example",
        full_name="Cora Complaints",
        role=Role.AUDITOR,
        password=PASSWORD,
        actor=quality_manager,
        clause_scope=["ISO 10002"],
    )
    client = Client()
    client.force_login(user)
    api = APIClient()
    api.force_authenticate(user)
    return user, client, api


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/complaints/", 200),
        ("/requirements/", 403),
        ("/feedback/list/", 403),
        ("/actions/", 403),
        ("/audit/", 403),
        ("/evidence/clauses/", 200),
    ],
)
def test_a_clause_limited_auditor_reaches_only_the_records_of_those_clauses(complaints_only, url, expected):
    _user, client, _api = complaints_only
    assert client.get(url).status_code == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [("/api/v1/complaints/", 200), ("/api/v1/requirements/", 403), ("/api/v1/audit/entries/", 403)],
)
def test_the_clause_limit_holds_on_the_api_too(complaints_only, url, expected):
    _user, _client, api = complaints_only
    assert api.get(url).status_code == expected


def test_the_clause_map_shows_a_limited_auditor_only_their_clauses(complaints_only):
    _user, client, _api = complaints_only
    rows = client.get("/evidence/clauses/").context["clause_rows"]
    assert [row.clause for row in rows] == ["ISO 10002"]


def test_a_quality_manager_grants_a_limited_account_from_the_people_page(clients):
    last_day = timezone.localdate() + timedelta(days=30)
    response = clients["quality_manager"].post(
        "/accounts/users/new/",
        {
            "email": "lead@audit-firm.example",
            "full_name": "Lea Lead",
            "role": Role.AUDITOR,
            "access_until": last_day.isoformat(),
            "clause_scope": ["9.1.2", "ISO 10002"],
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="lead@audit-firm.example")
    assert (services.last_day_of_access(user), user.clause_scope) == (last_day, ["9.1.2", "ISO 10002"])
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.CREATE, object_id=str(user.pk)).get()
    assert entry.changes["clause_scope"] == [None, ["9.1.2", "ISO 10002"]]
    detail = clients["quality_manager"].get(f"/accounts/users/{user.pk}/").content.decode()
    assert "9.1.2, ISO 10002" in detail


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"role": Role.STAFF, "clause_scope": ["9.1.2"]}, "Only auditors can be limited"),
        ({"role": Role.AUDITOR, "access_until": "2020-01-01"}, "cannot be in the past"),
        ({"role": Role.AUDITOR, "clause_scope": ["4.4"]}, "Select a valid choice"),
    ],
)
def test_a_bad_grant_is_explained_and_creates_nobody(clients, data, message):
    response = clients["quality_manager"].post(
        "/accounts/users/new/", {"email": "x@audit-firm.example", "full_name": "X", **data}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(email="x@audit-firm.example").exists()


def test_changing_the_access_is_audited_and_takes_effect_at_once(clients, auditor):
    client = Client()
    client.force_login(auditor)
    assert client.get("/requirements/").status_code == 200
    form = {
        "full_name": auditor.full_name,
        "role": Role.AUDITOR,
        "is_active": "on",
        "reason": "surveillance audit of complaint handling",
        "clause_scope": ["ISO 10002"],
        "access_until": (timezone.localdate() + timedelta(days=3)).isoformat(),
    }
    assert clients["quality_manager"].post(f"/accounts/users/{auditor.pk}/", form).status_code == 302
    assert client.get("/requirements/").status_code == 403
    entry = AuditEntry.objects.filter(object_id=str(auditor.pk), action=AuditEntry.Action.UPDATE).latest("seq")
    assert set(entry.changes) == {"access_expires_at", "clause_scope"}
    assert entry.reason == "surveillance audit of complaint handling"


def test_staff_cannot_grant_or_change_access(clients, auditor):
    form = {"full_name": auditor.full_name, "role": Role.AUDITOR, "is_active": "on", "reason": "x"}
    response = clients["staff"].post(f"/accounts/users/{auditor.pk}/", {**form, "clause_scope": ["9.3"]})
    assert response.status_code == 403
    assert User.objects.get(pk=auditor.pk).clause_scope == []


def test_the_last_quality_manager_cannot_be_given_an_end_date(quality_manager):
    with pytest.raises(BusinessRuleViolation, match="at least one active quality manager"):
        services.user_set_access(
            user_id=quality_manager.pk,
            access_until=timezone.localdate() + timedelta(days=1),
            clause_scope=[],
            actor=quality_manager,
        )
    UserFactory(role=Role.QUALITY_MANAGER)
    services.user_set_access(
        user_id=quality_manager.pk,
        access_until=timezone.localdate() + timedelta(days=1),
        clause_scope=[],
        actor=quality_manager,
    )
