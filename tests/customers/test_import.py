import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.audit.models import AuditEntry
from apps.customers import imports
from apps.customers.models import Contact, Customer
from tests.customers.factories import ContactFactory, CustomerFactory

HEADER = imports.COLUMNS
URL = "/customers/import/"


def row(**values) -> dict:
    base = {
        "customer_name": "Atlantic Foods Ltd",
        "customer_type": "organisation",
        "segment": "Enterprise",
        "industry": "Food",
        "country": "GB",
        "contact_name": "Emily Carter",
        "contact_email": "emily@atlantic.example",
        "contact_phone": "+44 20 7946 0312",
        "contact_job_role": "Buyer",
        "contact_language": "en",
        "survey_consent": "yes",
        "consent_source": "contract",
    }
    return {**base, **values}


def csv_file(rows: list[dict], *, header=HEADER, delimiter=",", encoding="utf-8", name="customers.csv"):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, delimiter=delimiter, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode(encoding), content_type="text/csv")


def upload(client, file):
    return client.post(URL, {"file": file})


def errors_of(response) -> list[tuple[int, str]]:
    return [(error.row, error.column) for error in response.context["errors"]]


VALID = [
    row(),
    row(
        customer_name="ATLANTIC FOODS LTD",
        contact_name="Liam O'Brien",
        contact_email="liam@atlantic.example",
        survey_consent="no",
        consent_source="",
    ),
    row(
        customer_name="Nordwind Logistik GmbH",
        customer_type="",
        country="de",
        contact_name="Katrin Vogel",
        contact_email="katrin@nordwind.example",
        contact_language="de",
    ),
    row(
        customer_name="Marta Kowalska",
        customer_type="individual",
        segment="Private",
        country="PL",
        contact_name="",
        contact_email="",
        contact_phone="",
        survey_consent="",
    ),
]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("quality_manager", 302), ("staff", 302), ("other_staff", 302), ("auditor", 403), ("anonymous", 302)],
)
def test_import_access_by_role(clients, persona, expected):
    response = upload(clients[persona], csv_file([row()]))
    assert response.status_code == expected
    assert Customer.objects.filter(name="Atlantic Foods Ltd").exists() is (
        persona in {"quality_manager", "staff", "other_staff"}
    )


def test_valid_file_imports_customers_and_contacts(clients, staff):
    response = upload(clients["staff"], csv_file(VALID))
    assert response.status_code == 302
    assert sorted(Customer.objects.values_list("name", "kind", "country")) == [
        ("Atlantic Foods Ltd", "organisation", "GB"),
        ("Marta Kowalska", "individual", "PL"),
        ("Nordwind Logistik GmbH", "organisation", "DE"),
    ]
    atlantic = Customer.objects.get(name="Atlantic Foods Ltd")
    contacts = {c.email: c for c in atlantic.contacts.all()}
    assert set(contacts) == {"emily@atlantic.example", "liam@atlantic.example"}
    emily = contacts["emily@atlantic.example"]
    assert (emily.name, emily.phone, emily.job_role, emily.preferred_language) == (
        "Emily Carter",
        "+44 20 7946 0312",
        "Buyer",
        "en",
    )
    assert (emily.survey_consent, emily.survey_consent_source) == (True, "contract")
    assert emily.survey_consent_at is not None
    assert contacts["liam@atlantic.example"].survey_consent is False
    assert not Customer.objects.get(name="Marta Kowalska").contacts.exists()
    assert AuditEntry.objects.filter(actor=staff, action="create").count() == 3 + 3


def test_existing_customer_is_reused_by_exact_name(clients):
    existing = CustomerFactory(name="Atlantic Foods Ltd", country="IE")
    upload(clients["staff"], csv_file([row()]))
    assert Customer.objects.count() == 1
    existing.refresh_from_db()
    assert existing.country == "IE"
    assert existing.contacts.get().email == "emily@atlantic.example"


def test_semicolon_separated_file_with_byte_order_mark_imports(clients):
    file = csv_file([row()], delimiter=";", encoding="utf-8-sig")
    assert upload(clients["staff"], file).status_code == 302
    assert Contact.objects.with_email("emily@atlantic.example").exists()


def test_one_bad_row_imports_nothing_and_lists_its_errors(clients):
    rows = [*VALID, row(customer_name="", contact_email="not-an-email", contact_language="english!")]
    response = upload(clients["staff"], csv_file(rows))
    assert response.status_code == 200
    assert errors_of(response) == [(6, "customer_name"), (6, "contact_email"), (6, "contact_language")]
    assert not Customer.objects.exists()
    assert not Contact.objects.exists()
    content = response.content.decode()
    assert "Nothing was imported" in content
    assert "contact_language" in content


@pytest.mark.parametrize(
    ("values", "column"),
    [
        ({"customer_type": "company"}, "customer_type"),
        ({"country": "Germany"}, "country"),
        ({"survey_consent": "maybe"}, "survey_consent"),
        ({"consent_source": ""}, "consent_source"),
        ({"consent_source": "telepathy"}, "consent_source"),
        ({"contact_name": ""}, "contact_name"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"customer_name": "x" * 201}, "customer_name"),
    ],
)
def test_row_errors_name_the_column(clients, values, column):
    response = upload(clients["staff"], csv_file([row(**values)]))
    assert errors_of(response) == [(2, column)]
    assert not Customer.objects.exists()


def test_rows_of_one_customer_must_not_contradict_each_other(clients):
    rows = [row(), row(contact_email="liam@atlantic.example", country="IE", segment="")]
    response = upload(clients["staff"], csv_file(rows))
    assert errors_of(response) == [(3, "country")]


def test_email_already_in_database_is_a_row_error(clients):
    ContactFactory(email="Emily@Atlantic.example")
    response = upload(
        clients["staff"], csv_file([row(customer_name="Other Co", contact_email="liam@x.example"), row()])
    )
    assert errors_of(response) == [(3, "contact_email")]
    assert "already exists" in response.context["errors"][0].message
    assert Customer.objects.count() == 1  # the factory's


def test_email_repeated_in_the_file_is_a_row_error(clients):
    rows = [row(), row(customer_name="Other Co", contact_email=" EMILY@atlantic.example ")]
    response = upload(clients["staff"], csv_file(rows))
    assert errors_of(response) == [(3, "contact_email")]
    assert "row 2" in response.context["errors"][0].message
    assert not Contact.objects.exists()


def test_email_taken_between_validation_and_writing_rolls_everything_back(clients, monkeypatch):
    def race(rows):
        result = original(rows)
        ContactFactory(email="liam@atlantic.example")
        return result

    original = imports._validate
    monkeypatch.setattr(imports, "_validate", race)
    rows = [row(), row(contact_name="Liam", contact_email="liam@atlantic.example")]
    response = upload(clients["staff"], csv_file(rows))
    assert errors_of(response) == [(3, "contact_email")]
    assert not Customer.objects.filter(name="Atlantic Foods Ltd").exists()
    assert not Contact.objects.with_email("emily@atlantic.example").exists()


def test_file_that_is_not_utf8_is_refused(clients):
    response = upload(clients["staff"], csv_file([row(contact_name="Jürgen Groß")], encoding="latin-1"))
    assert response.status_code == 200
    assert "not UTF-8" in response.context["errors"][0].message
    assert not Customer.objects.exists()


def test_missing_header_column_is_named(clients):
    header = [column for column in HEADER if column != "consent_source"]
    response = upload(clients["staff"], csv_file([row()], header=header))
    assert [error.message for error in response.context["errors"]] == [
        "Missing columns in the header row: consent_source."
    ]
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (SimpleUploadedFile("data.xlsx", b"PK\x03\x04binary", content_type="application/vnd.ms-excel"), "extension"),
        (SimpleUploadedFile("data.csv", b"\x00\x01\x02binary", content_type="text/csv"), "not a CSV"),
        (SimpleUploadedFile("data.csv", b"", content_type="text/csv"), "empty"),
        (SimpleUploadedFile("data.csv", ",".join(HEADER).encode() + b"\n", content_type="text/csv"), "no data rows"),
        (SimpleUploadedFile("data.csv", b'customer_name,"unclosed\n', content_type="text/csv"), "CSV"),
    ],
)
def test_files_that_are_not_csv_are_refused_with_a_clear_error(clients, file, message):
    response = upload(clients["staff"], file)
    assert response.status_code == 200
    shown = [
        *response.context["form"].errors.get("file", []),
        *(e.message for e in response.context.get("errors") or []),
    ]
    assert any(message in text for text in shown), shown
    assert not Customer.objects.exists()


def test_file_over_the_size_limit_is_refused(clients, monkeypatch):
    monkeypatch.setattr(imports, "MAX_IMPORT_BYTES", 100)
    monkeypatch.setattr("apps.customers.forms.MAX_IMPORT_BYTES", 100)
    response = upload(clients["staff"], csv_file([row()] * 3))
    assert "larger than 2 MB" in str(response.context["form"].errors["file"])
    assert not Customer.objects.exists()


def test_file_over_the_row_limit_is_refused(clients, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    rows = [row(contact_email=f"p{n}@atlantic.example") for n in range(3)]
    response = upload(clients["staff"], csv_file(rows))
    assert "more than 2 rows" in response.context["errors"][0].message
    assert not Customer.objects.exists()


def test_validation_of_a_large_file_runs_a_bounded_number_of_queries(clients, django_assert_max_num_queries):
    rows = [
        row(customer_name=f"Customer {n % 50}", contact_email=f"p{n}@example.com") for n in range(imports.MAX_ROWS - 1)
    ]
    rows.append(row(customer_name="", contact_email="p0@example.com"))  # invalid: nothing is written
    with django_assert_max_num_queries(7):
        response = upload(clients["staff"], csv_file(rows))
    last = imports.MAX_ROWS + 1
    assert errors_of(response) == [(last, "customer_name"), (last, "contact_email")]


def test_row_with_more_values_than_columns_is_reported_with_the_other_rows_errors(clients):
    file = csv_file([row(), row(customer_name="", contact_email="b@example.com")])
    content = file.read() + b"Extra Co,organisation,,,,,,,,,,,,surplus\n"
    response = upload(clients["staff"], SimpleUploadedFile("customers.csv", content, content_type="text/csv"))
    assert errors_of(response) == [(3, "customer_name"), (4, "")]
    assert not Customer.objects.exists()
