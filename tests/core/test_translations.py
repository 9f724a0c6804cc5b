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
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation.template import templatize

from apps.accounts.forms import PasswordResetRequestForm
from apps.accounts.roles import Role
from apps.complaints import services as complaint_services
from apps.complaints.forms import AddInformationForm, PublicComplaintForm, RatingForm
from apps.complaints.models import Complaint
from apps.core.models import OutboundEmail
from apps.feedback import services as feedback_services
from apps.feedback.forms import PublicFeedbackForm
from apps.feedback.models import Feedback
from apps.surveys.public_views import SCALE_ENDS, SurveyHoneypotForm
from tests.complaints.factories import make_complaint
from tests.customers.factories import ContactFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOGUE.with_suffix(".mo")
# The pages and e-mails a complainant, feedback submitter or surveyed contact sees.
CUSTOMER_TEMPLATES = [
    "templates/base.html",
    "templates/400.html",
    "templates/403.html",
    "templates/404.html",
    "templates/413.html",
    "templates/429.html",
    "templates/500.html",
    "templates/503.html",
    "templates/dashboard/start.html",
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
    "templates/registration/login.html",
    "templates/registration/locked_out.html",
    "templates/registration/password_reset_form.html",
    "templates/registration/password_reset_done.html",
    "templates/registration/password_reset_confirm.html",
    "templates/registration/password_reset_complete.html",
    "templates/surveys/public/answer.html",
    "templates/surveys/public/thanks.html",
    "templates/surveys/public/opt_out.html",
    "templates/surveys/public/unavailable.html",
    "templates/emails/surveys/invitation.html",
    "templates/emails/surveys/invitation.txt",
    "templates/emails/surveys/reminder.html",
    "templates/emails/surveys/reminder.txt",
]
CUSTOMER_FORMS = [
    PublicComplaintForm,
    AddInformationForm,
    RatingForm,
    PublicFeedbackForm,
    PasswordResetRequestForm,
    SurveyHoneypotForm,
]
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


def test_every_survey_scale_end_is_translated(catalogue):
    texts = [_msgid(text) for ends in SCALE_ENDS.values() for text in ends]
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


# --- every customer-facing page and e-mail, rendered in both languages ---------------------------
#
# The catalogue tests above only see strings marked for translation. These render the real pages
# and e-mails in English and in German and compare their visible text: a text that reads the same
# in both is either data we put in or English that nobody translated (a missing msgstr, or a
# string without gettext at all).

# Words that are spelled the same in both languages, and abbreviations.
SAME_IN_BOTH = {"QMS", "NPS", "CSAT", "CES", "Feedback", "Status", "Name", "Portal", "Details", "Link", "Organisation"}
VISIBLE_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")


class _VisibleText(HTMLParser):
    """The text a person sees or hears: text nodes, labelling attributes and button values."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        attributes = dict(attrs)
        self.texts += [attributes[name] for name in VISIBLE_ATTRIBUTES if attributes.get(name)]
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.texts.append(attributes["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


def _visible_texts(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    return parser.texts


def _words(text: str, data: Iterable[str]) -> list[str]:
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    return [word for word in re.findall(r"[^\W\d_]{2,}", text) if word not in SAME_IN_BOTH]


def _untranslated(english: list[str], german: list[str], data: Iterable[str] = ()) -> list[str]:
    """The texts of the English rendering that the German one repeats word for word."""
    return sorted({text for text in set(english) & set(german) if _words(text, data)})


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


# Pages a visitor reaches without a link of their own: the browser's language decides.


def _browser(language: str) -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE=language)


def _page(response, *statuses: int) -> str:
    assert response.status_code in (statuses or (200,)), response.status_code
    return response.content.decode()


def _start(client, _language):
    return _page(client.get("/")), ()


def _complaint_form(client, _language):
    return _page(client.get("/complaints/new/")), ()


def _complaint_form_with_errors(client, _language):
    return _page(client.post("/complaints/new/", {**COMPLAINT_FORM, "description": ""})), COMPLAINT_FORM.values()


def _complaint_submitted(client, _language):
    client.post("/complaints/new/", COMPLAINT_FORM)
    return _page(client.get("/complaints/new/done/")), [Complaint.objects.latest("pk").reference]


def _feedback_form(client, _language):
    return _page(client.get("/feedback/")), ()


def _feedback_form_with_errors(client, _language):
    return _page(client.post("/feedback/", {**FEEDBACK_FORM, "text": ""})), FEEDBACK_FORM.values()


def _feedback_thanks(client, _language):
    client.post("/feedback/", FEEDBACK_FORM)
    return _page(client.get("/feedback/thanks/")), [Feedback.objects.latest("pk").reference]


def _sign_in(client, _language):
    return _page(client.get("/accounts/login/")), ()


def _sign_in_refused(client, _language):
    data = {"username": "nobody@example.org", "password": "wrong-password"}
    return _page(client.post("/accounts/login/", data)), data.values()


def _password_reset(client, _language):
    return _page(client.get("/accounts/password/reset/")), ()


def _password_reset_sent(client, _language):
    return _page(client.get("/accounts/password/reset/sent/")), ()


def _password_reset_link_invalid(client, _language):
    return _page(client.get("/accounts/password/reset/MQ/bad-token/")), ()


def _password_reset_complete(client, _language):
    return _page(client.get("/accounts/password/reset/done/")), ()


def _not_found(client, _language):
    return _page(client.get("/no-such-page/"), 404), ()


# Pages reached through a link sent to the customer: the record's language decides.


def _tracked_complaint(language: str, **kwargs) -> Complaint:
    return make_complaint(language=language, complainant_name="Clara Kundin", **kwargs)


def _tracking_page(client, language):
    complaint = _tracked_complaint(language)
    complaint_services.customer_add_information(complaint_id=complaint.pk, body="Foto folgt")
    html = _page(client.get(f"/complaints/track/{complaint.tracking_token}/"))
    return html, [complaint.reference, "Clara Kundin", "The delivery arrived broken.", "Foto folgt"]


def _tracking_page_closed(client, language):
    qm = UserFactory(role=Role.QUALITY_MANAGER)
    complaint = _tracked_complaint(language, qm=qm, status=Complaint.Status.CLOSED)
    html = _page(client.get(f"/complaints/track/{complaint.tracking_token}/"))
    data = ["The delivery arrived broken.", "We replaced the part.", "The part was replaced."]
    return html, [complaint.reference, "Clara Kundin", *data]


def _tracking_page_with_errors(client, language):
    complaint = _tracked_complaint(language)
    html = _page(client.post(f"/complaints/track/{complaint.tracking_token}/", {"form": "info", "body": ""}), 400)
    return html, [complaint.reference, "Clara Kundin", "The delivery arrived broken."]


def _survey_invitation(language: str):
    from tests.surveys.test_responses import make_invitation, make_wave

    return make_invitation(make_wave(), contact=ContactFactory(preferred_language=language, name="Kim Kunde"))


def _survey_data(invitation) -> list[str]:
    version = invitation.campaign.template_version
    texts = [version.title, version.introduction, version.thank_you]
    for question in version.questions.all():
        texts += [question.text, question.help_text, *question.choices]
    return [text for text in texts if text]


def _survey_answer(client, language):
    invitation = _survey_invitation(language)
    return _page(client.get(f"/s/{invitation.token}/")), _survey_data(invitation)


def _survey_answer_with_errors(client, language):
    invitation = _survey_invitation(language)
    return _page(client.post(f"/s/{invitation.token}/", {}), 400), _survey_data(invitation)


def _survey_thanks(client, language):
    from apps.surveys.models import QuestionKind

    invitation = _survey_invitation(language)
    questions = {q.kind: q for q in invitation.campaign.template_version.questions.all()}
    answers = {
        f"q{questions[QuestionKind.NPS].pk}": "9",
        f"q{questions[QuestionKind.CSAT].pk}": "4",
        f"q{questions[QuestionKind.CES].pk}": "6",
    }
    client.post(f"/s/{invitation.token}/", answers)
    return _page(client.get(f"/s/{invitation.token}/thanks/")), _survey_data(invitation)


def _survey_opt_out(client, language):
    invitation = _survey_invitation(language)
    return _page(client.get(f"/s/{invitation.token}/opt-out/")), ()


def _survey_opted_out(client, language):
    invitation = _survey_invitation(language)
    return _page(client.post(f"/s/{invitation.token}/opt-out/", {"website": ""})), ()


def _survey_unavailable(client, _language):
    return _page(client.get("/s/0123456789abcdef0123456789abcdef/"), 404), ()


CUSTOMER_PAGES = [
    _start,
    _complaint_form,
    _complaint_form_with_errors,
    _complaint_submitted,
    _feedback_form,
    _feedback_form_with_errors,
    _feedback_thanks,
    _sign_in,
    _sign_in_refused,
    _password_reset,
    _password_reset_sent,
    _password_reset_link_invalid,
    _password_reset_complete,
    _not_found,
    _survey_unavailable,
]
# Opened from an e-mail: rendered in the language of the complaint or contact, whatever the browser says.
LINKED_PAGES = [
    _tracking_page,
    _tracking_page_closed,
    _tracking_page_with_errors,
    _survey_answer,
    _survey_answer_with_errors,
    _survey_thanks,
    _survey_opt_out,
    _survey_opted_out,
]


@pytest.mark.parametrize("page", CUSTOMER_PAGES, ids=lambda page: page.__name__.strip("_"))
def test_customer_page_has_no_english_left_in_german(page):
    english, english_data = page(_browser("en"), "en")
    german, german_data = page(_browser("de"), "de")
    assert '<html lang="de">' in german
    assert _untranslated(_visible_texts(english), _visible_texts(german), [*english_data, *german_data]) == []


@pytest.mark.parametrize("page", LINKED_PAGES, ids=lambda page: page.__name__.strip("_"))
def test_page_sent_to_a_customer_is_in_their_language_not_the_browsers(page):
    # The customer reads their e-mail on an English computer: the page is still in their language.
    english, english_data = page(_browser("en"), "en")
    german, german_data = page(_browser("en"), "de")
    assert '<html lang="de">' in german
    assert _untranslated(_visible_texts(english), _visible_texts(german), [*english_data, *german_data]) == []


# E-mails to customers: queued by staff actions and workers, so only the record's language decides.


def _email_texts(subject: str, body: str, html: str) -> list[str]:
    return [subject, *_lines(body), *(_visible_texts(html) if html else [])]


def _outbox_texts(emails) -> list[str]:
    return [text for email in emails for text in _email_texts(email.subject, email.body, email.html_body)]


def _complaint_emails(language: str):
    """Every e-mail of a complaint's life: acknowledgement, each status, a response, a closure."""
    qm = UserFactory(role=Role.QUALITY_MANAGER)
    before = OutboundEmail.objects.order_by("pk").values_list("pk", flat=True).last() or 0
    complaint = _tracked_complaint(language, qm=qm, status=Complaint.Status.REOPENED)
    complaint_services.message_add(
        complaint_id=complaint.pk, actor=qm, body="Ein neues Teil ist unterwegs.", visibility="customer"
    )
    rejected = _tracked_complaint(language)
    complaint_services.complaint_transition(
        complaint_id=rejected.pk, to=Complaint.Status.REJECTED, actor=qm, reason="Kein Mangel"
    )
    queued = OutboundEmail.objects.filter(pk__gt=before).order_by("pk")
    emails = [email for email in queued if email.to == "clara@example.org"]
    data = [complaint.reference, rejected.reference, "Clara Kundin", "Kein Mangel", "We replaced the part."]
    data += ["The part was replaced."]
    data += ["Ein neues Teil ist unterwegs.", complaint.tracking_token, rejected.tracking_token]
    return _outbox_texts(emails), data


def _feedback_email(language: str):
    feedback = feedback_services.feedback_submit_public(
        text="Schnelle Lieferung", submitter_name="Pat", submitter_email="pat@example.org", language=language
    )
    return _outbox_texts(OutboundEmail.objects.filter(idempotency_key=f"feedback-ack:{feedback.pk}")), ["Pat"]


def _survey_emails(language: str):
    from apps.surveys.services import dispatch

    invitation = _survey_invitation(language)
    messages = [dispatch._message(invitation, kind, 0) for kind in (dispatch.INVITATION, dispatch.REMINDER)]
    texts = [text for m in messages for text in _email_texts(m.subject, m.body, m.alternatives[0][0])]
    return texts, [*_survey_data(invitation), "Kim Kunde", invitation.token]


CUSTOMER_EMAILS = [_complaint_emails, _feedback_email, _survey_emails]


@pytest.mark.parametrize("emails", CUSTOMER_EMAILS, ids=lambda emails: emails.__name__.strip("_"))
def test_customer_e_mails_have_no_english_left_in_german(emails):
    # Queued while the portal's (English) language is active, as a staff action or a worker would.
    with translation.override("en"):
        english, english_data = emails("en")
        german, german_data = emails("de")
    assert len(german) == len(english)
    assert _untranslated(english, german, [*english_data, *german_data]) == []


@pytest.mark.parametrize(("preferred", "expected"), [("de-AT", "de"), ("DE", "de"), ("fr", "en"), ("", "en")])
def test_survey_e_mail_follows_the_contacts_language_and_falls_back_to_the_portals(preferred, expected):
    from apps.surveys.services import dispatch

    invitation = _survey_invitation(preferred)
    with translation.override("en" if expected == "de" else "de"):
        message = dispatch._message(invitation, dispatch.INVITATION, 0)
    closes = timezone.localtime(invitation.wave.closes_at)
    with translation.override(expected):
        assert _("Please answer the survey at this personal link:") in message.body
        assert date_format(closes, "DATE_FORMAT") in message.body


def test_status_e_mail_of_a_complaint_tied_to_a_contact_later_is_in_the_contacts_language(quality_manager):
    # Recorded by phone without a language, then tied to the customer's contact by staff.
    complaint = make_complaint(actor=quality_manager, channel=Complaint.Channel.PHONE)
    assert complaint.language == ""
    contact = ContactFactory(preferred_language="de")
    complaint.contact, complaint.customer = contact, contact.customer
    complaint.save(update_fields=["contact", "customer"])
    with translation.override("en"):
        complaint_services.complaint_transition(
            complaint_id=complaint.pk, to=Complaint.Status.REJECTED, actor=quality_manager, reason="Kein Mangel"
        )
    email = OutboundEmail.objects.filter(idempotency_key__startswith=f"complaint-status:{complaint.pk}:").get()
    assert email.subject == f"Ihre Reklamation {complaint.reference}"


# Messages built in Python that reach a customer's page or e-mail (validation errors, refusals),
# as (module, the top-level functions and classes that build them; None: the whole module).
CUSTOMER_CODE = [
    ("apps/core/public.py", None),
    ("apps/accounts/login.py", None),
    ("apps/accounts/forms.py", {"IdentifierEmailField", "PasswordResetRequestForm"}),
    (
        "apps/complaints/forms.py",
        {
            "validate_attachment",
            "_refuse_active_pdf",
            "AttachmentsField",
            "ComplaintForm",
            "PublicComplaintForm",
            "AddInformationForm",
            "RatingForm",
            "ReasonForm",
        },
    ),
    ("apps/complaints/services.py", {"customer_add_information", "complaint_rate", "complaint_reopen"}),
    ("apps/feedback/forms.py", {"PublicFeedbackForm"}),
    ("apps/surveys/public_views.py", None),
    ("apps/surveys/services/responses.py", {"_clean_answer", "validate_answers", "response_submit"}),
]
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "pgettext", "ngettext"}


def _code_msgids(path: str, names: set[str] | None) -> list[str]:
    tree = ast.parse((Path(settings.BASE_DIR) / path).read_text(encoding="utf-8"))
    parts = [node for node in tree.body if names is None or getattr(node, "name", None) in names]
    if names is not None:
        assert {node.name for node in parts} == names, f"{path}: renamed or moved? update CUSTOMER_CODE"
    return [
        call.args[0].value
        for part in parts
        for call in ast.walk(part)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id in GETTEXT_NAMES
        and call.args
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
    ]


@pytest.mark.parametrize(("path", "names"), CUSTOMER_CODE, ids=[path for path, _names in CUSTOMER_CODE])
def test_every_message_the_code_shows_a_customer_is_translated(catalogue, path, names):
    msgids = _code_msgids(path, names)
    assert msgids
    assert sorted(msgid for msgid in msgids if not _is_translated(catalogue.get(msgid))) == []
