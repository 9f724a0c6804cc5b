import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.audit.services import PERSONAL_DATA_MARK
from apps.core.exceptions import BusinessRuleViolation, InvalidTransition
from apps.core.models import ReferenceCounter
from apps.core.sequences import next_reference
from apps.feedback import services
from apps.feedback.models import Feedback
from tests.feedback.factories import FeedbackFactory, PublicFeedbackFactory

Status = Feedback.Status


def entries(feedback):
    return list(AuditEntry.objects.for_object(feedback).order_by("seq"))


def test_references_are_numbered_per_year(db):
    year = timezone.localtime().year
    first, second = PublicFeedbackFactory(), PublicFeedbackFactory()
    assert first.reference == f"FB-{year}-00001"
    assert second.reference == f"FB-{year}-00002"
    assert next_reference("FB", year=1999) == "FB-1999-00001"
    assert next_reference("CMP", year=year) == f"CMP-{year}-00001"  # each prefix counts on its own
    assert ReferenceCounter.objects.get(prefix="FB", year=year).last == 2


def test_a_reference_past_its_digits_grows_instead_of_being_cut(db):
    ReferenceCounter.objects.create(prefix="FB", year=2001, last=99_999)
    assert next_reference("FB", year=2001) == "FB-2001-100000"


def test_a_public_submission_draws_its_reference_inside_its_insert(db):
    # The counter's row lock lasts from the draw to COMMIT: drawn in the INSERT itself, no
    # round trip and no Python run while every other submitter waits on it.
    with CaptureQueriesContext(connection) as queries:
        feedback = services.feedback_submit_public(text="Counted")
    statements = [query["sql"] for query in queries.captured_queries]
    (insert,) = [sql for sql in statements if sql.startswith('INSERT INTO "feedback_feedback"')]
    assert "qms_next_reference" in insert
    assert not [sql for sql in statements if "core_referencecounter" in sql or sql.startswith("SELECT qms_next")]
    assert (
        feedback.reference == Feedback.objects.get(pk=feedback.pk).reference == f"FB-{timezone.localdate().year}-00001"
    )


def test_reference_is_unique_in_the_database(staff):
    feedback = FeedbackFactory(actor=staff)
    clash = Feedback(reference=feedback.reference, channel="email", text="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        clash.save()


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_get_distinct_references():
    references, errors = [], []
    barrier = threading.Barrier(4)

    def submit():
        try:
            barrier.wait()
            references.append(services.feedback_submit_public(text="Concurrent").reference)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(references)) == 4


def test_rating_outside_one_to_five_is_refused_by_the_database(staff):
    feedback = FeedbackFactory(actor=staff)
    with pytest.raises(IntegrityError), transaction.atomic():
        Feedback.objects.filter(pk=feedback.pk).unaudited_update(rating=6)


@pytest.mark.parametrize(
    ("rating", "sentiment"), [(5, "positive"), (4, "positive"), (3, "neutral"), (1, "negative"), (None, "")]
)
def test_sentiment_defaults_from_the_rating(db, rating, sentiment):
    assert PublicFeedbackFactory(rating=rating).sentiment == sentiment


def test_public_submission_encrypts_and_masks_personal_data(db):
    feedback = PublicFeedbackFactory(
        submitter_name="Pat Public", submitter_email="pat@example.com", consent_to_contact=True
    )
    row = Feedback.objects.get(pk=feedback.pk)
    assert row.submitter_name == "Pat Public"
    assert "pat@example.com" not in row.submitter_email_ct
    assert row.consent_at is not None
    (entry,) = entries(feedback)
    assert entry.actor_kind == AuditEntry.ActorKind.PUBLIC
    assert entry.changes["submitter_email"] == [PERSONAL_DATA_MARK, PERSONAL_DATA_MARK]
    assert "pat@example.com" not in str(entry.changes)


def test_consent_without_email_is_refused_and_nothing_stored(db):
    with pytest.raises(ValidationError) as error:
        services.feedback_submit_public(text="Call me", consent_to_contact=True)
    assert "submitter_email" in error.value.message_dict
    assert not Feedback.objects.exists()


def test_staff_record_owns_what_they_record(staff, other_staff):
    feedback = FeedbackFactory(actor=staff, channel="phone")
    assert (feedback.owner, feedback.recorded_by, feedback.status) == (staff, staff, Status.NEW)
    assert entries(feedback)[0].action == AuditEntry.Action.CREATE


def test_auditor_may_not_record_feedback(auditor):
    with pytest.raises(PermissionDenied):
        FeedbackFactory(actor=auditor)


def test_contact_of_another_customer_is_refused(staff):
    from tests.feedback.factories import ContactFactory, CustomerFactory

    contact = ContactFactory(customer=CustomerFactory())
    with pytest.raises(ValidationError):
        FeedbackFactory(actor=staff, customer=CustomerFactory(), contact=contact)


def test_triage_files_new_feedback_and_is_audited(quality_manager, own_feedback, category, staff):
    feedback = services.feedback_triage(
        feedback_id=own_feedback.pk, actor=quality_manager, category=category, sentiment="neutral", owner=staff
    )
    assert (feedback.status, feedback.category, feedback.sentiment) == (Status.TRIAGED, category, "neutral")
    last = entries(feedback)[-1]
    assert last.action == AuditEntry.Action.TRANSITION
    assert last.changes["status"] == ["new", "triaged"]


def test_triage_defaults_sentiment_from_rating(quality_manager, staff, category):
    feedback = FeedbackFactory(actor=staff, rating=4)
    feedback = services.feedback_triage(feedback_id=feedback.pk, actor=quality_manager, category=category)
    assert feedback.sentiment == "positive"


def test_staff_may_not_triage(staff, own_feedback, category):
    with pytest.raises(PermissionDenied):
        services.feedback_triage(feedback_id=own_feedback.pk, actor=staff, category=category)


def test_closed_feedback_cannot_be_triaged_or_closed_again(quality_manager, own_feedback, category):
    services.feedback_close(feedback_id=own_feedback.pk, actor=quality_manager, reason="Spam")
    with pytest.raises(InvalidTransition):
        services.feedback_triage(feedback_id=own_feedback.pk, actor=quality_manager, category=category)
    with pytest.raises(InvalidTransition):
        services.feedback_close(feedback_id=own_feedback.pk, actor=quality_manager)


def test_owner_closes_own_feedback_but_not_anothers(staff, own_feedback, others_feedback):
    closed = services.feedback_close(feedback_id=own_feedback.pk, actor=staff, reason="Thanked the customer")
    assert closed.status == Status.CLOSED
    assert entries(closed)[-1].reason == "Thanked the customer"
    with pytest.raises(PermissionDenied):
        services.feedback_close(feedback_id=others_feedback.pk, actor=staff)
    assert Feedback.objects.get(pk=others_feedback.pk).status == Status.NEW


def test_raise_action_links_the_action_and_marks_feedback_actioned(staff, own_feedback):
    from apps.actions.selectors import for_source

    action = services.feedback_raise_action(feedback_id=own_feedback.pk, actor=staff, title="Fix packaging")
    feedback = Feedback.objects.get(pk=own_feedback.pk)
    assert feedback.status == Status.ACTIONED
    assert list(for_source(feedback)) == [action]
    assert action.nonconformity == own_feedback.text
    # A second action on actioned feedback is fine and keeps the status.
    services.feedback_raise_action(feedback_id=own_feedback.pk, actor=staff, title="Train the carrier")
    assert for_source(feedback).count() == 2


def test_raise_action_on_closed_feedback_is_refused(staff, own_feedback):
    services.feedback_close(feedback_id=own_feedback.pk, actor=staff)
    with pytest.raises(InvalidTransition):
        services.feedback_raise_action(feedback_id=own_feedback.pk, actor=staff, title="Too late")


def test_convert_creates_a_linked_complaint_once(quality_manager, staff):
    from tests.feedback.factories import ContactFactory, CustomerFactory

    customer = CustomerFactory()
    contact = ContactFactory(customer=customer, name="Carla Contact", email="carla@example.com")
    feedback = FeedbackFactory(actor=staff, customer=customer, contact=contact, text="Wrong parts delivered")
    converted = services.feedback_convert_to_complaint(feedback_id=feedback.pk, actor=quality_manager)
    complaint = converted.complaint
    assert converted.status == Status.ACTIONED
    assert complaint.description == "Wrong parts delivered"
    assert complaint.customer == customer
    assert complaint.source_feedback == converted  # the link both ways
    assert entries(converted)[-1].changes["complaint"] == [None, complaint.pk]
    with pytest.raises(BusinessRuleViolation):
        services.feedback_convert_to_complaint(feedback_id=feedback.pk, actor=quality_manager)


def test_staff_may_not_convert(staff, own_feedback):
    with pytest.raises(PermissionDenied):
        services.feedback_convert_to_complaint(feedback_id=own_feedback.pk, actor=staff)


def test_erasing_personal_data_keeps_the_quality_record(quality_manager, staff):
    feedback = PublicFeedbackFactory(
        submitter_name="Pat", submitter_email="pat@example.com", consent_to_contact=True, rating=2
    )
    with pytest.raises(PermissionDenied):
        services.feedback_erase_personal_data(feedback_id=feedback.pk, actor=staff, reason="Request")
    services.feedback_erase_personal_data(feedback_id=feedback.pk, actor=quality_manager, reason="Request")
    row = Feedback.objects.get(pk=feedback.pk)
    assert (row.submitter_name, row.submitter_email, row.data_key, row.consent_to_contact) == ("", "", "", False)
    assert (row.text, row.text_ct) == ("", "")
    assert (row.reference, row.rating, row.sentiment, row.channel) == (feedback.reference, 2, "negative", "web_form")
    assert entries(row)[-1].action == AuditEntry.Action.ERASE


def test_text_is_stored_encrypted_and_masked_in_the_trail(db):
    from django.db import connection

    feedback = PublicFeedbackFactory(text="Driver 4711 was rude to me", submitter_email="pat@example.com")
    with connection.cursor() as cursor:
        cursor.execute("SELECT text_ct FROM feedback_feedback WHERE id = %s", [feedback.pk])
        (stored,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM audit_auditentry WHERE changes::text LIKE %s", ["%4711%"])
        (in_trail,) = cursor.fetchone()
    assert stored
    assert "4711" not in stored
    assert in_trail == 0
    assert Feedback.objects.get(pk=feedback.pk).text == "Driver 4711 was rude to me"


def test_public_feedback_with_an_email_is_acknowledged_once(db):
    from apps.core.models import OutboundEmail

    feedback = services.feedback_submit_public(
        text="Nice", submitter_name="Pat", submitter_email="pat@example.com", language="en"
    )
    services.feedback_submit_public(text="Anonymous")
    email = OutboundEmail.objects.get()
    assert email.idempotency_key == f"feedback-ack:{feedback.pk}"
    assert (email.to, email.subject) == ("pat@example.com", f"We received your feedback {feedback.reference}")
    assert "Dear Pat," in email.body
    assert feedback.reference in email.html_body


def test_retention_erases_feedback_unchanged_for_the_period(db, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.FEEDBACK_PERSONAL_DATA_RETENTION_DAYS = 30
    old, recent = PublicFeedbackFactory(submitter_name="Old"), PublicFeedbackFactory(submitter_name="New")
    Feedback.objects.filter(pk=old.pk).unaudited_update(updated_at=timezone.now() - timedelta(days=31))
    assert services.retention_apply() == [old.pk]
    assert services.retention_apply() == []
    assert Feedback.objects.get(pk=old.pk).erased_at is not None
    assert Feedback.objects.get(pk=recent.pk).submitter_name == "New"
    entry = AuditEntry.objects.for_object(old).get(action=AuditEntry.Action.ERASE)
    assert entry.actor_kind == AuditEntry.ActorKind.SYSTEM
