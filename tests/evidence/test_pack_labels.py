"""Pack CSVs name what their ids point at (#24): `<field>_label` beside `<field>_id` for the
category, product, customer and users, a colleague's name only where the requester's role may
see people; formula-safe like every other cell, and read in one query per record type."""

import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit import checkpoints
from apps.complaints.models import Complaint
from apps.evidence import services
from apps.evidence.verify_pack import verify
from tests.complaints.factories import make_category, make_complaint
from tests.customers.factories import CustomerFactory, ProductFactory
from tests.factories import UserFactory

RECEIVED = "records/complaints.complaint--complaints-received.csv"
MASK = "[personal data]"


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "checkpoints.jsonl")
    return tmp_path


@pytest.fixture
def labelled(db, quality_manager, staff):
    customer = CustomerFactory(name="Nordwind Logistik")
    product = ProductFactory(name='=HYPERLINK("http://evil")')
    category = make_category("Damaged delivery")
    made = make_complaint(qm=quality_manager, customer=customer, product=product, assignee=staff)
    Complaint.objects.filter(pk=made.pk).unaudited_update(category=category)
    checkpoints.sign_head()
    return {"customer": customer, "product": product, "category": category, "assignee": staff}


def _rows(actor, **kwargs) -> tuple[list[str], list[dict], str]:
    today = timezone.localdate()
    pack = services.pack_request(
        actor=actor, clauses=["ISO 10002"], period_start=today - timedelta(days=30), period_end=today, **kwargs
    )
    pack = services.pack_build(pack_id=pack.pk)
    path = services.pack_path(pack)
    text = zipfile.ZipFile(path).read(RECEIVED).decode()
    header = next(csv.reader(io.StringIO(text)))
    assert verify(str(path), checkpoints.public_key_b64()) == []
    return header, list(csv.DictReader(io.StringIO(text))), text


@pytest.mark.parametrize(("persona", "names_shown"), [("auditor", True), ("quality_manager", True), ("staff", False)])
def test_each_id_has_its_label_beside_it(labelled, request, persona, names_shown):
    header, (row,), _text = _rows(request.getfixturevalue(persona))
    for field in ("category", "product", "customer", "assignee"):
        assert header[header.index(f"{field}_id") + 1] == f"{field}_label"
    assert row["category_id"] == str(labelled["category"].pk)
    assert row["category_label"] == "Damaged delivery"
    assert row["customer_label"] == "Nordwind Logistik"
    assert row["assignee_label"] == (labelled["assignee"].full_name if names_shown else MASK)


def test_labels_are_formula_safe(labelled, auditor):
    _header, (row,), text = _rows(auditor)
    assert row["product_label"] == '\'=HYPERLINK("http://evil")'
    assert ",=HYPERLINK" not in text


def test_labels_also_go_with_personal_data(labelled, quality_manager):
    _header, (row,), _text = _rows(quality_manager, include_personal_data=True)
    assert row["category_label"] == "Damaged delivery"
    assert row["assignee_label"] == labelled["assignee"].full_name
    assert row["product_label"].startswith("'=")


def test_labels_cost_no_query_per_row(labelled, quality_manager, auditor):
    from apps.evidence.models import EvidencePack

    def queries() -> int:
        EvidencePack.objects.all().delete()  # else the same request returns the built pack
        with CaptureQueriesContext(connection) as captured:
            _rows(auditor, customer_ids=[labelled["customer"].pk])
        return len(captured)

    queries()  # warm the content-type and permission caches
    few = queries()
    for _ in range(5):
        make_complaint(
            qm=quality_manager,
            customer=labelled["customer"],
            product=labelled["product"],
            assignee=UserFactory(full_name="Another Handler", role="staff"),
        )
    assert queries() == few
