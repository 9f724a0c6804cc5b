"""Requesting evidence packs: an identical request returns the pack already asked for, and
one user cannot fill the workers' queue (#22 §9)."""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, close_old_connections, connections
from django.utils import timezone

from apps.accounts import services as accounts
from apps.accounts.roles import Role
from apps.audit.models import AuditEntry
from apps.core.exceptions import BusinessRuleViolation
from apps.evidence import services
from apps.evidence.models import EvidencePack

URL = "/evidence/packs/"


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.EVIDENCE_PACK_MAX_ACTIVE_PER_USER = 2
    settings.EVIDENCE_PACK_MAX_PER_HOUR = 4


def _request(actor, clauses=("9.1.2",), days=30, **kwargs) -> EvidencePack:
    today = timezone.localdate()
    return services.pack_request(
        actor=actor, clauses=list(clauses), period_start=today - timedelta(days=days), period_end=today, **kwargs
    )


def _second_auditor(quality_manager):
    return accounts.user_create(
        email="second@audit-firm.example",
        full_name="Second",
        role=Role.AUDITOR,
        actor=quality_manager,
        password="pw-for-tests-only",
    )


def test_an_identical_request_returns_the_queued_pack_and_enqueues_one_build(
    auditor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        first = _request(auditor, customer_ids=[3, 1], product_ids=[7])
    with django_capture_on_commit_callbacks() as again:
        second = _request(auditor, customer_ids=[1, 3, 3], product_ids=[7])
    assert second.pk == first.pk
    assert (len(callbacks), len(again)) == (1, 0)
    assert EvidencePack.objects.count() == 1
    assert AuditEntry.objects.filter(action="export", object_id=str(first.pk)).count() == 1


@pytest.mark.parametrize("status", ["building", "ready"])
def test_an_identical_request_returns_the_pack_being_built_or_ready(auditor, status):
    first = _request(auditor)
    EvidencePack.objects.filter(pk=first.pk).update(status=status, finished_at=timezone.now())
    assert _request(auditor).pk == first.pk


@pytest.mark.parametrize("status", ["failed", "expired"])
def test_a_failed_or_expired_pack_is_requested_anew(auditor, status):
    first = _request(auditor)
    EvidencePack.objects.filter(pk=first.pk).update(status=status, finished_at=timezone.now())
    assert _request(auditor).pk != first.pk


def test_a_ready_pack_past_its_retention_is_expired_and_requested_anew(auditor, settings):
    first = _request(auditor)
    built = services.pack_build(pack_id=first.pk)
    path = services.pack_path(built)
    old = timezone.now() - timedelta(days=settings.EVIDENCE_PACK_RETENTION_DAYS, minutes=1)
    EvidencePack.objects.filter(pk=first.pk).update(finished_at=old)
    assert _request(auditor).pk != first.pk
    assert EvidencePack.objects.get(pk=first.pk).status == "expired"
    assert not path.exists()


def test_a_build_whose_worker_died_on_its_last_attempt_no_longer_blocks_the_request(auditor):
    first = _request(auditor)
    EvidencePack.objects.filter(pk=first.pk).update(
        status="building",
        attempts=services.PACK_MAX_ATTEMPTS,
        heartbeat_at=timezone.now() - services.PACK_STALE_AFTER - timedelta(minutes=1),
    )
    assert _request(auditor).pk != first.pk
    assert EvidencePack.objects.get(pk=first.pk).status == "failed"


@pytest.mark.parametrize(
    "change",
    [
        {"clauses": ("9.1.2", "10.2")},
        {"days": 60},
        {"customer_ids": [1]},
        {"product_ids": [1]},
        {"include_personal_data": True},
    ],
)
def test_different_parameters_make_a_new_pack(quality_manager, change):
    first = _request(quality_manager)
    assert _request(quality_manager, **change).pk != first.pk
    assert EvidencePack.objects.count() == 2


def test_the_same_request_by_another_user_is_their_own_pack(auditor, quality_manager):
    assert _request(auditor).pk != _request(quality_manager).pk


def test_a_user_may_have_only_so_many_packs_queued_or_building(auditor):
    _request(auditor, clauses=["9.1.2"])
    _request(auditor, clauses=["10.2"])
    with pytest.raises(BusinessRuleViolation, match="at most 2 evidence packs being built at a time"):
        _request(auditor, clauses=["9.3"])
    assert _request(auditor, clauses=["10.2"]).clauses == ["10.2"]  # asking again for one is no new pack
    EvidencePack.objects.filter(clauses=["9.1.2"]).update(status="ready", finished_at=timezone.now())
    assert _request(auditor, clauses=["9.3"]).clauses == ["9.3"]


def test_a_user_may_request_only_so_many_packs_an_hour(auditor):
    for clause in ["9.1.2", "10.2", "9.3", "8.2.1"]:
        pack = _request(auditor, clauses=[clause])
        EvidencePack.objects.filter(pk=pack.pk).update(status="ready", finished_at=timezone.now())
    with pytest.raises(BusinessRuleViolation, match="at most 4 evidence packs an hour"):
        _request(auditor, clauses=["6.2"])
    EvidencePack.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    assert _request(auditor, clauses=["6.2"]).clauses == ["6.2"]


def test_one_users_limit_does_not_hold_back_another(auditor, quality_manager):
    _request(auditor, clauses=["9.1.2"])
    _request(auditor, clauses=["10.2"])
    with pytest.raises(BusinessRuleViolation):
        _request(auditor, clauses=["9.3"])
    second = _second_auditor(quality_manager)
    assert _request(second, clauses=["9.3"]).requested_by == second


def test_the_page_explains_the_limit_and_queues_nothing(clients, auditor):
    _request(auditor, clauses=["9.1.2"])
    _request(auditor, clauses=["10.2"])
    today = timezone.localdate()
    form = {"clauses": ["9.3"], "start": (today - timedelta(days=30)).isoformat(), "end": today.isoformat()}
    response = clients["auditor"].post(URL, form)
    assert response.status_code == 200
    assert "at most 2 evidence packs being built at a time" in response.content.decode()
    assert EvidencePack.objects.count() == 2


def test_the_page_says_when_an_identical_pack_already_exists(clients, auditor):
    today = timezone.localdate()
    form = {"clauses": ["9.3"], "start": (today - timedelta(days=30)).isoformat(), "end": today.isoformat()}
    assert clients["auditor"].post(URL, form).status_code == 302
    page = clients["auditor"].post(URL, form, follow=True).content.decode()
    assert "You asked for this evidence pack already" in page
    assert EvidencePack.objects.count() == 1


def test_the_database_holds_one_live_pack_per_request(auditor):
    first = _request(auditor)
    with pytest.raises(IntegrityError):
        EvidencePack.objects.create(
            requested_by=auditor,
            clauses=first.clauses,
            period_start=first.period_start,
            period_end=first.period_end,
            request_key=first.request_key,
        )


def _at_once(auditor, count: int = 2) -> list:
    """`count` identical requests from threads of their own, each in its own transaction."""
    start = threading.Barrier(count)
    results: list = []

    def request() -> None:
        try:
            start.wait(10)
            results.append(_request(auditor, enqueue=False).pk)
        except BaseException as error:  # the assertion below names it
            results.append(error)
        finally:
            close_old_connections()
            connections.close_all()

    threads = [threading.Thread(target=request) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_identical_requests_at_the_same_moment_make_one_pack(auditor):
    results = _at_once(auditor)
    assert len(set(results)) == 1, results
    assert EvidencePack.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_unique_constraint_alone_keeps_simultaneous_identical_requests_to_one_pack(auditor, monkeypatch):
    # Without the per-user turn-taking both requests find nothing and both insert; the second
    # insert waits for the first to commit, fails on the constraint and returns the first's pack.
    monkeypatch.setattr(services, "_take_turn", lambda actor: None)
    both_looked = threading.Barrier(2)
    check_limits = services._check_limits

    def looked_then_wait(actor):
        check_limits(actor)
        both_looked.wait(10)

    monkeypatch.setattr(services, "_check_limits", looked_then_wait)
    results = _at_once(auditor)
    assert len(set(results)) == 1, results
    assert EvidencePack.objects.count() == 1
