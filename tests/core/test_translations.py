"""German for everything a customer sees: public pages, e-mails, and the catalogue behind them.

The catalogue is locale/de/LC_MESSAGES/django.po, compiled to django.mo and committed, so the
tests read both with the standard library (no polib, no gettext needed except for the one test
that recompiles).
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation.template import templatize

from apps.complaints import services as complaint_services
from apps.complaints.forms import AddInformationForm, PublicComplaintForm, RatingForm
from apps.complaints.models import Complaint
from apps.core.models import OutboundEmail
from apps.feedback import services as feedback_services
from apps.feedback.forms import PublicFeedbackForm
from apps.feedback.models import Feedback
from tests.complaints.factories import make_complaint

pytestmark = pytest.mark.django_db

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOGUE.with_suffix(".mo")
# The pages and e-mails a complainant or feedback submitter sees.
CUSTOMER_TEMPLATES = [
    "templates/base.html",
    "templates/400.html",
    "templates/403.html",
    "templates/404.html",
    "templates/413.html",
    "templates/429.html",
    "templates/500.html",
    "templates/503.html",
    "templates/complaints/public_form.html",
    "templates/complaints/public_done.html",
    "templates/complaints/track.html",
    "templates/feedback/public_form.html",
    "templates/feedback/public_thanks.html",
    "templates/emails/layout.html",
    "templates/emails/notification.html",
    "templates/emails/notification.txt",
    "templates/layouts/auth_card.html",
    "templates/layouts/auth_form.html",
    "templates/layouts/auth_message.html",
    "templates/partials/form.html",
]
CUSTOMER_FORMS = [PublicComplaintForm, AddInformationForm, RatingForm, PublicFeedbackForm]
COMPLAINT_FORM = {
    "complainant_name": "Clara Kundin",
    "complainant_email": "clara@example.org",
    "description": "Die Pumpe ist undicht.",
    "desired_outcome": "Ersatz",
    "website": "",
}
FEEDBACK_FORM = {
    "text": "Schnelle Lieferung",
    "rating": "5",
    "submitter_name": "Pat",
    "submitter_email": "pat@example.org",
    "website": "",
}


@pytest.fixture(autouse=True)
def _default_language():
    """LocaleMiddleware activates a request's language for the thread and leaves it active."""
    translation.deactivate()
    yield
    translation.deactivate()


def _entries(path: Path) -> list[dict]:
    """The PO file's entries (header excluded): msgid, msgstr (singular), flags, references."""
    entries, entry, field = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry and entry["msgid"]:
                entries.append(entry)
            entry = None
            continue
        if entry is None:
            entry = {"msgid": "", "msgstr": "", "plural": False, "flags": set(), "refs": set(), "obsolete": False}
        if line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#:"):
            entry["refs"].update(ref.rsplit(":", 1)[0] for ref in line[2:].split())
        elif line.startswith("#"):
            continue
        elif match := re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$', line):
            keyword = match.group(1)
            field = {"msgid": "msgid", "msgstr": "msgstr", "msgstr[0]": "msgstr"}.get(keyword)
            entry["plural"] |= keyword == "msgid_plural"
            if field:
                entry[field] += ast.literal_eval(match.group(2))
        elif line.startswith('"') and field:
            entry[field] += ast.literal_eval(line)
    return [entry for entry in entries if not entry["obsolete"]]


def _msgid(text) -> str:
    """The source text of a lazy translation (English is the source language)."""
    with translation.override("en"):
        return str(text)


@pytest.fixture(scope="module")
def catalogue() -> dict[str, dict]:
    return {entry["msgid"]: entry for entry in _entries(CATALOGUE)}


def _is_translated(entry: dict | None) -> bool:
    return bool(entry and entry["msgstr"] and "fuzzy" not in entry["flags"])


# --- pages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "heading", "label"),
    [("de", "Reklamation einreichen", "Was ist passiert?"), ("en", "Make a complaint", "What happened?")],
)
def test_public_complaint_form_follows_the_browser_language(client, accept_language, heading, label):
    response = client.get("/complaints/new/", HTTP_ACCEPT_LANGUAGE=accept_language)
    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Language"] == accept_language
    assert heading in body
    assert label in body


def test_public_complaint_form_shows_german_validation_messages(client):
    response = client.post("/complaints/new/", {**COMPLAINT_FORM, "description": ""}, HTTP_ACCEPT_LANGUAGE="de")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Bitte korrigieren Sie die unten markierten Fehler." in body
    assert "Dieses Feld ist zwingend erforderlich." in body  # Django's own German catalogue
    assert not Complaint.objects.exists()


def test_tracking_page_shows_the_status_in_german(client):
    complaint = make_complaint()
    response = client.get(f"/complaints/track/{complaint.tracking_token}/", HTTP_ACCEPT_LANGUAGE="de")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Ihre Reklamation" in body
    assert 'data-testid="status">Eingegangen<' in body


@pytest.mark.parametrize(
    ("accept_language", "heading"), [("de", "Sagen Sie uns Ihre Meinung"), ("en", "Tell us what you think")]
)
def test_public_feedback_form_follows_the_browser_language(client, accept_language, heading):
    response = client.get("/feedback/", HTTP_ACCEPT_LANGUAGE=accept_language)
    assert response.status_code == 200
    assert heading in response.content.decode()


def test_error_pages_are_german_for_a_german_browser(client):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 404
    assert "Seite nicht gefunden" in response.content.decode()


def test_german_page_declares_its_language(client):
    response = client.get("/complaints/new/", HTTP_ACCEPT_LANGUAGE="de")
    assert '<html lang="de">' in response.content.decode()


# --- e-mails -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "subject", "paragraph", "brand"),
    [
        (
            "de",
            "Wir haben Ihre Reklamation {ref} erhalten",
            "Ihre Reklamation hat die Vorgangsnummer {ref}.",
            "QMS-Portal",
        ),
        ("en", "We received your complaint {ref}", "Your complaint has the reference {ref}.", "QMS Portal"),
    ],
)
def test_complaint_acknowledgement_is_in_the_language_it_was_filed_in(
    client, accept_language, subject, paragraph, brand
):
    response = client.post("/complaints/new/", COMPLAINT_FORM, HTTP_ACCEPT_LANGUAGE=accept_language)
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    email = OutboundEmail.objects.get(idempotency_key=f"complaint-ack:{complaint.pk}")
    assert complaint.language == accept_language
    assert email.subject == subject.format(ref=complaint.reference)
    assert paragraph.format(ref=complaint.reference) in email.body
    assert paragraph.format(ref=complaint.reference) in email.html_body
    assert brand in email.html_body


@pytest.mark.parametrize(
    ("accept_language", "subject", "paragraph"),
    [
        (
            "de",
            "Wir haben Ihr Feedback {ref} erhalten",
            "Vielen Dank für Ihr Feedback. Es hat die Vorgangsnummer {ref}.",
        ),
        ("en", "We received your feedback {ref}", "Thank you for your feedback. It has the reference {ref}."),
    ],
)
def test_feedback_acknowledgement_is_in_the_language_it_was_given_in(client, accept_language, subject, paragraph):
    response = client.post("/feedback/", FEEDBACK_FORM, HTTP_ACCEPT_LANGUAGE=accept_language)
    assert response.status_code == 302
    feedback = Feedback.objects.get()
    email = OutboundEmail.objects.get(idempotency_key=f"feedback-ack:{feedback.pk}")
    assert email.subject == subject.format(ref=feedback.reference)
    assert paragraph.format(ref=feedback.reference) in email.body
    assert paragraph.format(ref=feedback.reference) in email.html_body


def test_german_html_e_mail_declares_its_language(client):
    client.post("/complaints/new/", COMPLAINT_FORM, HTTP_ACCEPT_LANGUAGE="de")
    assert '<html lang="de">' in OutboundEmail.objects.get().html_body


# E-mails queued outside the customer's own request (staff changing the status, a worker) must
# still be worded in the customer's language, not the caller's.


def test_complaint_acknowledgement_uses_the_complaints_language_not_the_callers():
    complaint = complaint_services.complaint_create(
        actor=complaint_services.PUBLIC,
        channel=Complaint.Channel.WEB,
        complainant_name="Clara Kundin",
        complainant_email="clara@example.org",
        description="Die Pumpe ist undicht.",
        language="de",
    )
    email = OutboundEmail.objects.get(idempotency_key=f"complaint-ack:{complaint.pk}")
    assert email.subject == f"Wir haben Ihre Reklamation {complaint.reference} erhalten"


def test_status_e_mail_uses_the_complaints_language_not_the_staff_members(quality_manager):
    complaint = complaint_services.complaint_create(
        actor=complaint_services.PUBLIC,
        channel=Complaint.Channel.WEB,
        complainant_name="Clara Kundin",
        complainant_email="clara@example.org",
        description="Die Pumpe ist undicht.",
        language="de",
    )
    complaint_services.complaint_transition(
        complaint_id=complaint.pk, to=Complaint.Status.REJECTED, actor=quality_manager, reason="Kein Mangel"
    )
    email = OutboundEmail.objects.filter(idempotency_key__startswith=f"complaint-status:{complaint.pk}:").get()
    assert email.subject == f"Ihre Reklamation {complaint.reference}"
    assert f"Der Status Ihrer Reklamation {complaint.reference} lautet jetzt: Abgelehnt." in email.body


def test_feedback_acknowledgement_uses_the_given_language_not_the_callers():
    feedback = feedback_services.feedback_submit_public(
        text="Schnelle Lieferung", submitter_name="Pat", submitter_email="pat@example.org", language="de"
    )
    email = OutboundEmail.objects.get(idempotency_key=f"feedback-ack:{feedback.pk}")
    assert email.subject == f"Wir haben Ihr Feedback {feedback.reference} erhalten"


# --- the catalogue -------------------------------------------------------------------------------


def _template_msgids(name: str) -> list[str]:
    """The msgids makemessages extracts from a template, read from the template itself."""
    source = (Path(settings.BASE_DIR) / name).read_text(encoding="utf-8")
    return [ast.literal_eval(literal) for literal in re.findall(r"\bgettext\(u('(?:[^'\\]|\\.)*')", templatize(source))]


def test_every_string_in_the_customer_templates_is_translated(catalogue):
    # Read from the templates, not from the catalogue's references, so a string added to a
    # template without running makemessages fails here too.
    msgids = {msgid for name in CUSTOMER_TEMPLATES for msgid in _template_msgids(name)}
    assert len(msgids) > 40
    assert sorted(msgid for msgid in msgids if not _is_translated(catalogue.get(msgid))) == []


@pytest.mark.parametrize("form_class", CUSTOMER_FORMS, ids=lambda form_class: form_class.__name__)
def test_every_label_and_help_text_of_the_public_forms_is_translated(catalogue, form_class):
    texts = [
        _msgid(text)
        for field in form_class.base_fields.values()
        for text in (field.label, field.help_text, getattr(field, "empty_label", None))
        if text and text != "---------"  # Django's default empty label, not ours to translate
    ]
    assert texts
    assert [text for text in texts if not _is_translated(catalogue.get(text))] == []


def test_every_complaint_status_is_translated(catalogue):
    labels = [_msgid(label) for label in Complaint.Status.labels]
    assert [label for label in labels if not _is_translated(catalogue.get(label))] == []


def test_translations_keep_their_placeholders(catalogue):
    placeholder = re.compile(r"%\(\w+\)[sd]|\{\w*\}")
    broken = [
        entry["msgid"]
        for entry in catalogue.values()
        if entry["msgstr"]
        and sorted(placeholder.findall(entry["msgid"])) != sorted(placeholder.findall(entry["msgstr"]))
    ]
    assert broken == []


def test_compiled_catalogue_matches_the_po_file(tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        print("msgfmt not installed: cannot recompile locale/de/LC_MESSAGES/django.po to compare")
        pytest.skip("msgfmt (gettext) is not installed")
    fresh = tmp_path / "django.mo"
    # The same flags as `manage.py compilemessages`.
    subprocess.run([msgfmt, "--check-format", "-o", str(fresh), str(CATALOGUE)], check=True, capture_output=True)
    with COMPILED.open("rb") as committed, fresh.open("rb") as recompiled:
        # Compared as catalogues, not bytes: another gettext version may lay the file out differently.
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(recompiled)._catalog
