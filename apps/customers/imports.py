"""CSV import of customers and their contacts.

Every row is validated before anything is written; the import then runs in
one transaction through the services, so a file imports completely or not at
all. Rows with the same customer name (case-insensitive) make one customer; a
customer that already exists under exactly that name is reused (its fields
are left as they are). A contact e-mail already held by any contact, or used
earlier in the file, is an error for that row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _
from django_countries import countries

from apps.core.crypto import blind_index
from apps.core.exceptions import BusinessRuleViolation
from apps.customers import services
from apps.customers.forms import MAX_IMPORT_BYTES, ContactForm
from apps.customers.models import Contact, Customer

# Every contact is written through its service (encryption, audit entry) inside one transaction that holds
# the audit chain's lock: about 10 ms a row, so 1000 rows stay well inside gunicorn's 30 s request timeout
# without blocking other writers for long. Larger files are split, or need a background import job.
MAX_ROWS = 1000
CUSTOMER_COLUMNS = {
    "name": "customer_name",
    "kind": "customer_type",
    "segment": "segment",
    "industry": "industry",
    "country": "country",
}
CONTACT_COLUMNS = {
    "name": "contact_name",
    "email": "contact_email",
    "phone": "contact_phone",
    "job_role": "contact_job_role",
    "preferred_language": "contact_language",
    "survey_consent": "survey_consent",
    "survey_consent_source": "consent_source",
}
COLUMNS = [*CUSTOMER_COLUMNS.values(), *CONTACT_COLUMNS.values()]
CONTACT_PRESENCE = ("contact_name", "contact_email", "contact_phone")
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}
# Index lookups go to the database in batches, so a full file costs a handful of queries.
LOOKUP_BATCH = 1000


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    message: str


@dataclass
class ImportResult:
    errors: list[RowError] = field(default_factory=list)
    customers_created: int = 0
    customers_reused: int = 0
    contacts_created: int = 0


@dataclass(frozen=True)
class _Row:
    number: int
    customer: dict
    contact: dict | None


class _Rollback(Exception):
    def __init__(self, error: RowError):
        self.error = error


def import_customers(*, upload, actor) -> ImportResult:
    """Validate the uploaded CSV and, when every row is valid, import it in one transaction."""
    rows, errors = _parse(upload)
    if any(error.row == 0 for error in errors):
        return ImportResult(errors=errors)
    groups, row_errors = _validate(rows)
    errors = sorted([*errors, *row_errors], key=_position)
    if errors:
        return ImportResult(errors=errors)
    try:
        return _write(groups, actor=actor)
    except _Rollback as rollback:
        return ImportResult(errors=[rollback.error])


def _position(error: RowError) -> tuple[int, int]:
    return error.row, COLUMNS.index(error.column) if error.column else -1


def _file_error(message: str) -> list[RowError]:
    return [RowError(row=0, column="", message=message)]


def _parse(upload) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The data rows as (row number, {column: value}), or the errors that make the file unreadable."""
    raw = upload.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        return [], _file_error(_("The file is larger than 2 MB; split it into several files."))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], _file_error(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."))
    if "\x00" in text:
        return [], _file_error(_("The file is not a CSV text file."))
    first_line = text.split("\n", 1)[0]
    # Spreadsheets set to a European locale save CSV with semicolons.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        if not any(header):
            return [], _file_error(_("The file is empty."))
        missing = [column for column in COLUMNS if column not in header]
        if missing:
            return [], _file_error(_("Missing columns in the header row: %s.") % ", ".join(missing))
        for number, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue
            if len(rows) >= MAX_ROWS:
                return [], _file_error(_("The file has more than %d rows; split it into several files.") % MAX_ROWS)
            if len(values) > len(header):
                errors.append(RowError(number, "", _("The row has more values than the header has columns.")))
                continue
            rows.append((number, {name: value.strip() for name, value in zip(header, values, strict=False)}))
    except csv.Error as error:
        return [], _file_error(_("The file is not valid CSV (%s).") % error)
    if not rows and not errors:
        return [], _file_error(_("The file has no data rows."))
    return rows, errors


def _validate(parsed: list[tuple[int, dict[str, str]]]) -> tuple[dict[str, list[_Row]], list[RowError]]:
    errors: list[RowError] = []
    groups: dict[str, list[_Row]] = {}
    first_email_row: dict[str, int] = {}
    for number, values in parsed:
        group = groups.setdefault(values.get("customer_name", "").casefold(), [])
        default_kind = group[0].customer["kind"] if group else Customer.Kind.ORGANISATION
        row, row_errors = _validate_row(number, values, default_kind=default_kind)
        errors.extend(row_errors)
        # Duplicates are reported for every well-formed e-mail, also on rows with other errors.
        email = values.get("contact_email", "").lower()
        if email and not any(error.column == "contact_email" for error in row_errors):
            if email in first_email_row:
                errors.append(RowError(number, "contact_email", _("Same e-mail as row %d.") % first_email_row[email]))
            else:
                first_email_row[email] = number
        if row is None:
            continue
        if group:
            errors.extend(_compare_with_group(row, group[0]))
        group.append(row)
    for number in _rows_with_emails_in_database(first_email_row):
        errors.append(RowError(number, "contact_email", _("A contact with this e-mail address already exists.")))
    return groups, errors


def _validate_row(number: int, values: dict[str, str], *, default_kind: str) -> tuple[_Row | None, list[RowError]]:
    errors = []
    customer_data = {name: values.get(column, "") for name, column in CUSTOMER_COLUMNS.items()}
    customer_data["country"] = customer_data["country"].upper()
    customer_data["kind"] = customer_data["kind"].lower() or default_kind
    errors.extend(_customer_errors(number, customer_data))

    contact_data = None
    consent = values.get("survey_consent", "").lower()
    if consent not in YES | NO:
        errors.append(RowError(number, "survey_consent", _("Write yes or no.")))
    if any(values.get(column) for column in CONTACT_PRESENCE):
        contact_form = ContactForm(
            data={
                **{name: values.get(column, "") for name, column in CONTACT_COLUMNS.items()},
                "survey_consent": consent in YES,
                "survey_consent_source": values.get("consent_source", "").lower(),
            },
            check_duplicates=False,
        )
        if contact_form.is_valid():
            contact_data = contact_form.cleaned_data
        else:
            errors.extend(_form_errors(number, contact_form, CONTACT_COLUMNS))
    elif consent in YES:
        errors.append(RowError(number, "contact_name", _("Consent needs a contact on the same row.")))

    if errors:
        return None, errors
    return _Row(number=number, customer=customer_data, contact=contact_data), []


def _customer_errors(number: int, data: dict[str, str]) -> list[RowError]:
    """The checks of CustomerForm, by hand: the form's country choices cost milliseconds per row,
    too much for a full file validated inside one request."""
    errors = []
    for name in ("name", "segment", "industry"):
        limit = Customer._meta.get_field(name).max_length
        if len(data[name]) > limit:
            message = _("At most %(limit)d characters (it has %(length)d).") % {
                "limit": limit,
                "length": len(data[name]),
            }
            errors.append(RowError(number, CUSTOMER_COLUMNS[name], message))
    if not data["name"]:
        errors.append(RowError(number, "customer_name", _("Required.")))
    if data["kind"] not in Customer.Kind.values:
        errors.append(RowError(number, "customer_type", _("Write organisation or individual.")))
    if data["country"] and data["country"] not in countries:
        errors.append(RowError(number, "country", _("Not an ISO 3166 two-letter country code.")))
    return errors


def _form_errors(number: int, form, columns: dict[str, str]) -> list[RowError]:
    return [
        RowError(number, columns.get(name, ""), str(message))
        for name, messages in form.errors.items()
        for message in messages
    ]


def _compare_with_group(row: _Row, first: _Row) -> list[RowError]:
    """Rows of one customer may leave customer columns blank, but must not contradict its first row."""
    errors = []
    for name in ("kind", "segment", "industry", "country"):
        value, expected = str(row.customer[name]), str(first.customer[name])
        if value and expected and value != expected:
            message = _("Differs from row %(row)d for the same customer (%(value)s).") % {
                "row": first.number,
                "value": expected,
            }
            errors.append(RowError(row.number, CUSTOMER_COLUMNS[name], message))
    return errors


def _rows_with_emails_in_database(first_email_row: dict[str, int]) -> Iterable[int]:
    """Rows whose e-mail a contact already has, found through the blind index (as Contact.objects.with_email)."""
    row_by_index = {blind_index(email): number for email, number in first_email_row.items()}
    indexes = list(row_by_index)
    for start in range(0, len(indexes), LOOKUP_BATCH):
        batch = indexes[start : start + LOOKUP_BATCH]
        for index in Contact.objects.filter(email_index__in=batch).values_list("email_index", flat=True):
            yield row_by_index[index]


def _customer_data(rows: list[_Row]) -> dict:
    """The customer's fields: the first row's, with blanks filled from later rows."""
    data = dict(rows[0].customer)
    for row in rows[1:]:
        for name, value in row.customer.items():
            if not data[name] and value:
                data[name] = value
    data["status"] = Customer.Status.ACTIVE
    return data


def _write(groups: dict[str, list[_Row]], *, actor) -> ImportResult:
    result = ImportResult()
    names = [rows[0].customer["name"] for rows in groups.values()]
    existing: dict[str, Customer] = {}
    for customer in Customer.objects.filter(name__in=names).order_by("id"):
        existing.setdefault(customer.name, customer)
    with transaction.atomic():
        for rows in groups.values():
            data = _customer_data(rows)
            customer = existing.get(data["name"])
            if customer is None:
                customer = services.customer_create(actor=actor, **data)
                result.customers_created += 1
            else:
                result.customers_reused += 1
            for row in rows:
                if row.contact is None:
                    continue
                try:
                    services.contact_create(customer_id=customer.pk, actor=actor, **row.contact)
                except BusinessRuleViolation as error:
                    # Another user created the same e-mail since validation: stop, nothing stays written.
                    raise _Rollback(RowError(row.number, "contact_email", str(error))) from error
                result.contacts_created += 1
    return result
