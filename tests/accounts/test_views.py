from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.audit.models import AuditEntry
from apps.core.models import OutboundEmail
from apps.core.services import email_send
from tests.factories import PASSWORD


def _login(client: Client, email: str, password: str):
    return client.post("/accounts/login/", {"username": email, "password": password})


@pytest.mark.django_db
def test_sign_in_with_email_and_password_is_audited(staff):
    client = Client()
    response = _login(client, "STAFF1@example.com", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert AuditEntry.objects.for_object(staff).filter(action=AuditEntry.Action.LOGIN).count() == 1


@pytest.mark.django_db
def test_wrong_password_shows_an_error_and_is_audited(staff):
    response = _login(Client(), "staff1@example.com", "wrong-password")
    assert response.status_code == 200
    assert b"Please enter a correct" in response.content
    assert AuditEntry.objects.for_object(staff).filter(action=AuditEntry.Action.LOGIN_FAILED).count() == 1


@pytest.mark.django_db
def test_repeated_failures_lock_the_account_out_even_with_the_right_password(staff, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "staff1@example.com", "wrong-password")
    response = _login(client, "staff1@example.com", PASSWORD)
    assert response.status_code in {403, 429}
    assert b"temporarily locked" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["page", "api"])
def test_a_lockout_is_logged_with_the_account_id_and_not_its_address(staff, settings, caplog, where):
    client = Client()
    with caplog.at_level("WARNING", logger="apps.accounts.security"):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            if where == "page":
                _login(client, "staff1@example.com", "wrong-password")
            else:
                body = {"email": "staff1@example.com", "password": "wrong-password"}
                client.post("/api/v1/auth/token/", body, content_type="application/json")
    lockouts = [record for record in caplog.records if record.name == "apps.accounts.security"]
    assert [(record.levelname, record.event, record.account_id) for record in lockouts] == [
        ("WARNING", "login_locked_out", staff.pk)
    ]
    assert "staff1@example.com" not in caplog.text


@pytest.mark.django_db
def test_inactive_user_cannot_sign_in(staff):
    User.objects.filter(pk=staff.pk).unaudited_update(is_active=False)
    response = _login(Client(), "staff1@example.com", PASSWORD)
    assert response.status_code == 200
    assert b"Please enter a correct" in response.content


@pytest.mark.django_db
def test_logout_is_a_post_and_is_audited(clients, staff):
    assert clients["staff"].get("/accounts/logout/").status_code == 405
    response = clients["staff"].post("/accounts/logout/")
    assert response.status_code == 302
    assert AuditEntry.objects.for_object(staff).filter(action=AuditEntry.Action.LOGOUT).exists()
    # `/` is the public start page for anonymous visitors (#24): ask for a signed-in page.
    assert clients["staff"].get("/customers/").status_code == 302


@pytest.mark.django_db
def test_password_change_is_audited(clients, staff):
    response = clients["staff"].post(
        "/accounts/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-longer-new-pass",
            "new_password2": "a-much-longer-new-pass",
        },
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password("a-much-longer-new-pass")
    assert AuditEntry.objects.for_object(staff).filter(action=AuditEntry.Action.PASSWORD_CHANGE).exists()


@pytest.mark.django_db
def test_password_reset_mails_a_working_link_through_the_outbox(staff, reset_queue, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": "staff1@example.com"})
    assert response.status_code == 302
    reset_queue.run()
    queued = OutboundEmail.objects.get()
    # What the worker does with the queued row (tests/core/test_worker.py runs a real one).
    email_send(email_id=queued.pk)
    assert [m.to for m in mail.outbox] == [["staff1@example.com"]]
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/password/reset/" in line)
    path = urlsplit(link).path
    response = client.get(path, follow=True)
    form_path = response.redirect_chain[-1][0]
    response = client.post(
        form_path, {"new_password1": "fresh-password-2026!", "new_password2": "fresh-password-2026!"}
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.check_password("fresh-password-2026!")


@pytest.mark.django_db
def test_password_reset_for_unknown_address_reveals_nothing(reset_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    reset_queue.run()
    assert not OutboundEmail.objects.exists()


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("auditor", 200), ("staff", 403), ("other_staff", 403), ("anonymous", 302)],
)
def test_people_list_access(clients, persona, expected, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = clients[persona].get("/accounts/users/")
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 200), ("auditor", 403), ("staff", 403), ("anonymous", 302)],
)
def test_add_user_page_access(clients, persona, expected):
    assert clients[persona].get("/accounts/users/new/").status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 302), ("auditor", 403), ("staff", 403), ("other_staff", 403), ("anonymous", 302)],
)
def test_only_quality_managers_create_users(clients, persona, expected):
    response = clients[persona].post(
        "/accounts/users/new/", {"email": "fresh@example.com", "full_name": "Fresh", "role": Role.STAFF}
    )
    assert response.status_code == expected
    assert User.objects.filter(email="fresh@example.com").exists() is (persona == "quality_manager")


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 302), ("auditor", 403), ("staff", 403), ("other_staff", 403)],
)
def test_only_quality_managers_change_roles(clients, staff, persona, expected):
    response = clients[persona].post(
        f"/accounts/users/{staff.pk}/",
        {"full_name": staff.full_name, "role": Role.AUDITOR, "is_active": "on", "reason": "reorganisation"},
    )
    assert response.status_code == expected
    staff = User.objects.get(pk=staff.pk)
    assert (staff.role == Role.AUDITOR) is (persona == "quality_manager")


def test_auditor_sees_a_user_page_without_any_form(clients, staff):
    response = clients["auditor"].get(f"/accounts/users/{staff.pk}/")
    assert response.status_code == 200
    assert b'<form method="post" class' not in response.content
    assert b"Save changes" not in response.content
    assert b"Add user" not in clients["auditor"].get("/accounts/users/").content


def test_add_user_form_reports_invalid_input(clients):
    response = clients["quality_manager"].post("/accounts/users/new/", {"email": "not-an-email", "full_name": ""})
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"email", "full_name", "role"}
    response = clients["quality_manager"].post(
        "/accounts/users/new/", {"email": "QM@example.com", "full_name": "Copy", "role": Role.STAFF}
    )
    assert "already exists" in str(response.context["form"].errors["email"])


def test_demoting_the_last_manager_shows_an_error_and_changes_nothing(clients, quality_manager):
    response = clients["quality_manager"].post(
        f"/accounts/users/{quality_manager.pk}/",
        {"full_name": "Renamed", "role": Role.STAFF, "is_active": "on", "reason": "test"},
    )
    assert response.status_code == 200
    assert "at least one active quality manager" in str(response.context["form"].non_field_errors())
    quality_manager = User.objects.get(pk=quality_manager.pk)
    assert (quality_manager.full_name, quality_manager.role) == ("Quinn Manager", Role.QUALITY_MANAGER)


def test_unknown_user_is_404(clients):
    assert clients["quality_manager"].get("/accounts/users/999999/").status_code == 404


@pytest.mark.parametrize(
    ("persona", "visible", "hidden"),
    [
        ("quality_manager", ["People", "Audit trail"], []),
        ("auditor", ["People", "Audit trail"], []),
        ("staff", [], ["People", "Audit trail"]),
    ],
)
def test_navigation_shows_only_what_the_role_may_use(clients, persona, visible, hidden):
    content = clients[persona].get("/").content.decode()
    for label in visible:
        assert f">{label}</a>" in content
    for label in hidden:
        assert f">{label}</a>" not in content


def test_people_page_gives_the_review_duty_and_refuses_it_for_an_auditor(clients, staff, auditor):
    review = "requirements.review_customerrequirement"
    form = {
        "full_name": staff.full_name,
        "role": Role.STAFF,
        "is_active": "on",
        "reason": "cover",
        "capabilities": [review],
    }
    assert clients["quality_manager"].post(f"/accounts/users/{staff.pk}/", form).status_code == 302
    assert User.objects.get(pk=staff.pk).has_perm(review)

    form = {**form, "full_name": auditor.full_name, "role": Role.AUDITOR}
    response = clients["quality_manager"].post(f"/accounts/users/{auditor.pk}/", form)
    assert response.status_code == 200
    assert "cannot be given to this role" in str(response.context["form"].non_field_errors())
    assert not User.objects.get(pk=auditor.pk).has_perm(review)


def test_staff_cannot_give_themselves_a_duty(clients, staff):
    form = {"full_name": staff.full_name, "role": Role.STAFF, "is_active": "on", "reason": "me"}
    form["capabilities"] = ["requirements.review_customerrequirement"]
    assert clients["staff"].post(f"/accounts/users/{staff.pk}/", form).status_code == 403
    assert not User.objects.get(pk=staff.pk).has_perm("requirements.review_customerrequirement")
