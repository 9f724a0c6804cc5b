"""Building an evidence pack: a ZIP an auditor can check without trusting the portal.

For each record type that evidences a chosen clause (apps.core.clauses) the pack holds a CSV
and a JSON file of the records in the period, then the audit-trail extract for those records,
the signed checkpoints that cover the period, survey results, documents other apps register
(management-review reports), an index.html per clause, manifest.json (every file's SHA-256,
size and the query that produced it, who exported it and when), its Ed25519 signature and a
standalone verify_evidence.py.

Rows stream from PostgreSQL COPY straight into the compressed ZIP entry and through SHA-256,
so memory stays flat however many records there are. Personal fields (apps.core.personal_data,
the same declaration pages and API mask) are masked unless the pack was requested with the
personal-data permission; then they are decrypted row by row (erased people stay erased:
their keys are gone).

Beside each foreign-key id the record CSVs carry `<field>_label`, the related record's name as
a person reads it (category, product, customer; a colleague's name only for a requester whose
role may see people), joined in the same query (label_columns()).

Every CSV goes through apps.core.tabular, so a formula typed into a form reaches the auditor's
spreadsheet as text; the JSON beside it keeps the value verbatim. The hashes in the manifest are
taken over the bytes as written, apostrophes included.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import CharField, Count, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from apps.audit import checkpoints
from apps.audit.models import AuditEntry
from apps.core import clauses, tabular
from apps.core.crypto import ErasedError, InvalidToken, PersonalDataModel
from apps.core.personal_data import MASK, personal_fields

PACK_FORMAT = "qms-evidence-pack/1"
# Columns that are secrets or ciphertext, never exported whatever the permission.
SECRET_COLUMNS = {"data_key", "token_hash", "email_index", "password"}
VERIFY_SCRIPT = Path(__file__).with_name("verify_pack.py")
FLUSH_BYTES = 1 << 20


@dataclass
class PackFile:
    path: str
    sha256: str = ""
    size: int = 0
    records: int | None = None
    query: str = ""


@dataclass
class RecordExport:
    evidence: clauses.Evidence
    clauses: list[str]
    csv_path: str
    json_path: str
    records: int = 0
    skipped: str = ""  # why the record type is left out (e.g. it cannot be filtered by customer)


@dataclass
class BuildResult:
    files: list[PackFile] = field(default_factory=list)
    exports: list[RecordExport] = field(default_factory=list)
    records: int = 0


class _HashingEntry:
    """A ZIP entry opened for writing that hashes and counts what goes through it.

    COPY hands over one row per write(); hashing and compressing each row on its own cost
    more than the rows themselves, so they go through in chunks of FLUSH_BYTES."""

    def __init__(self, archive: zipfile.ZipFile, pack_file: PackFile):
        self.pack_file = pack_file
        self._raw = archive.open(pack_file.path, "w", force_zip64=True)
        self._sha = hashlib.sha256()
        self._buffer = bytearray()

    def write(self, data) -> int:
        if isinstance(data, str):
            data = data.encode()
        self._buffer += data
        if len(self._buffer) >= FLUSH_BYTES:
            self._flush()
        return len(data)

    def _flush(self) -> None:
        if self._buffer:
            self._sha.update(self._buffer)
            self.pack_file.size += len(self._buffer)
            self._raw.write(self._buffer)
            self._buffer.clear()

    def close(self) -> None:
        self._flush()
        self._raw.close()
        self.pack_file.sha256 = self._sha.hexdigest()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _JsonArray:
    """Receives one JSON document per line (COPY output) and writes them as one JSON array,
    turning line breaks into separators a chunk at a time."""

    def __init__(self, target: _HashingEntry):
        self.target = target
        self.count = 0
        self._pending = bytearray()

    def write(self, data) -> int:
        if isinstance(data, str):
            data = data.encode()
        self._pending += data
        if len(self._pending) >= FLUSH_BYTES:
            self._emit()
        return len(data)

    def _emit(self) -> None:
        end = self._pending.rfind(b"\n")
        if end < 0:
            return
        lines = bytes(self._pending[:end]).strip(b"\n")
        del self._pending[: end + 1]
        if not lines:
            return
        self.target.write((b"[\n" if self.count == 0 else b",\n") + lines.replace(b"\n", b",\n"))
        self.count += lines.count(b"\n") + 1

    def finish(self) -> None:
        self._pending += b"\n"
        self._emit()
        self.target.write(b"\n]\n" if self.count else b"[]\n")


def _bound(sql: str, params) -> str:
    """An ORM query's SQL with its parameters bound by the driver, as COPY needs it (COPY cannot
    take parameters itself) and as the manifest records it."""
    with connection.cursor() as cursor:
        return cursor.mogrify(sql, params).decode()


def _copy_json(statement: str, target) -> None:
    """Stream a query's rows into `target` with COPY, one JSON document per line."""
    with connection.cursor() as cursor:
        # CSV with control characters as quote and delimiter: each JSON document comes out
        # verbatim (row_to_json escapes every control character and newline it contains).
        cursor.copy_expert(
            f"COPY (SELECT row_to_json(t) FROM ({statement}) t) TO STDOUT "  # noqa: S608
            "WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')",
            target,
        )


def _copy_both(archive, csv_file: PackFile, json_file: PackFile, sql: str, params) -> int:
    """The query's rows as a formula-safe CSV (apps.core.tabular) and as a JSON array holding
    every value verbatim; each file's manifest query is the statement that produced it."""
    statement = _bound(sql, params)
    with _HashingEntry(archive, csv_file) as entry:
        csv_file.query = tabular.copy_csv(statement, entry)
    json_file.query = statement
    with _HashingEntry(archive, json_file) as entry:
        array = _JsonArray(entry)
        _copy_json(statement, array)
        array.finish()
    csv_file.records = json_file.records = array.count
    return array.count


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _relation_path(model, target: str) -> str | None:
    """The lookup from `model` to its `target` ("customer" or "product") id, one hop at most."""
    names = {f.name for f in model._meta.concrete_fields}
    if target in names:
        return f"{target}_id"
    for relation in model._meta.concrete_fields:
        related = relation.related_model if relation.is_relation else None
        if related is not None and target in {f.name for f in related._meta.concrete_fields}:
            return f"{relation.name}__{target}_id"
    return None


def personal_columns(model) -> list[str]:
    """Names exported masked (or decrypted with the permission): encrypted values and the
    fields the model declares personal."""
    return personal_fields(model)


def plain_columns(model) -> list[str]:
    personal = set(personal_columns(model))
    return [
        f.attname
        for f in model._meta.concrete_fields
        if f.attname not in SECRET_COLUMNS and f.name not in personal and not f.attname.endswith("_ct")
    ]


# The field that names a related record for a person reading the pack, in order of preference.
LABEL_FIELDS = ("name", "reference", "title", "code")
# Who may read colleagues' names: the same permission as the people pages.
USER_NAMES_PERMISSION = "accounts.view_user"


def label_columns(model, *, user_names: bool) -> dict[str, Any]:
    """`<field>_label` beside each foreign-key id `<field>_id`: the related record's name
    (category, product, customer), reference or title, read through a join of the same
    query (no query per row). A user is named by full name when the requester's role may see
    people (USER_NAMES_PERMISSION), else MASK; a related record whose naming field is
    personal data (a contact) gets no label."""
    from django.contrib.auth import get_user_model
    from django.db.models import F

    user_model = get_user_model()
    labels: dict[str, Any] = {}
    for relation in model._meta.concrete_fields:
        if not relation.is_relation or relation.attname in SECRET_COLUMNS:
            continue
        related = relation.related_model
        if related is user_model:
            labels[relation.attname] = (
                F(f"{relation.name}__full_name") if user_names else Value(MASK, output_field=CharField())
            )
            continue
        names = {f.name for f in related._meta.concrete_fields} - set(personal_columns(related))
        field_name = next((name for name in LABEL_FIELDS if name in names), None)
        if field_name is not None:
            labels[relation.attname] = F(f"{relation.name}__{field_name}")
    return labels


def _label_name(attname: str) -> str:
    return f"{attname.removesuffix('_id')}_label"


class PackBuilder:
    """Writes one pack; `pack` is an EvidencePack row (clauses, period, filters, requester)."""

    def __init__(self, pack):
        self.pack = pack
        self.start = _aware(pack.period_start)
        self.end = _aware(pack.period_end + timedelta(days=1))
        self.result = BuildResult()

    # --- record types -------------------------------------------------------------------
    def exports(self) -> list[RecordExport]:
        grouped: dict[tuple[str, str], RecordExport] = {}
        for evidence in clauses.all_evidence():
            if evidence.clause not in self.pack.clauses:
                continue
            key = (evidence.model, str(evidence.label))
            if key in grouped:
                grouped[key].clauses.append(evidence.clause)
                continue
            stem = f"records/{evidence.model}--{slugify(str(evidence.label))}"
            grouped[key] = RecordExport(
                evidence=evidence, clauses=[evidence.clause], csv_path=f"{stem}.csv", json_path=f"{stem}.json"
            )
        return list(grouped.values())

    def queryset(self, export: RecordExport) -> QuerySet | None:
        evidence = export.evidence
        model = evidence.model_class()
        queryset = evidence.queryset().filter(
            **{f"{evidence.date_field}__gte": self.start, f"{evidence.date_field}__lt": self.end}
        )
        for target, ids in (("customer", self.pack.customer_ids), ("product", self.pack.product_ids)):
            if not ids:
                continue
            path = _relation_path(model, target)
            if path is None:
                export.skipped = f"left out: these records cannot be narrowed to the chosen {target}s"
                return None
            queryset = queryset.filter(**{f"{path}__in": ids})
        return queryset.order_by("pk")

    def _write_masked(self, archive, export: RecordExport, queryset: QuerySet) -> None:
        model = queryset.model
        plain, personal = plain_columns(model), personal_columns(model)
        labels = self._labels(model, plain)
        # A personal field that is a plain column (a review's distribution list) cannot be
        # replaced by an annotation of its own name: the mask is selected under a stand-in name
        # and renamed around the query. PostgreSQL keeps a subquery's order in a plain scan.
        stand_in = {name: f"masked_{index}" for index, name in enumerate(personal)}
        masked = {stand_in[name]: Value(MASK, output_field=CharField()) for name in personal}
        sql, params = queryset.values(*plain, **masked, **labels).query.sql_with_params()
        quote = connection.ops.quote_name
        columns = [
            column
            for name in plain
            for column in (quote(name), *([quote(_label_name(name))] if _label_name(name) in labels else []))
        ] + [f"{quote(stand_in[name])} AS {quote(name)}" for name in personal]
        # Only model field names and our stand-ins, quoted; values stay parameters.
        sql = f"SELECT {', '.join(columns)} FROM ({sql}) AS records"  # noqa: S608
        csv_file, json_file = PackFile(export.csv_path), PackFile(export.json_path)
        export.records = _copy_both(archive, csv_file, json_file, sql, params)
        self.result.files += [csv_file, json_file]

    def _write_personal(self, archive, export: RecordExport, queryset: QuerySet) -> None:
        model = queryset.model
        plain, personal = plain_columns(model), personal_columns(model)
        related = [
            f.name
            for f in model._meta.concrete_fields
            if f.is_relation and f.related_model is not None and issubclass(f.related_model, PersonalDataModel)
        ]
        labels = self._labels(model, plain)
        queryset = queryset.annotate(**labels)
        query = str(queryset.query)
        # Each label right after its id, as in the masked export.
        columns = [
            column for name in plain for column in (name, *([_label_name(name)] if _label_name(name) in labels else []))
        ]

        def rows():
            for record in queryset.select_related(*related).iterator(chunk_size=2000):
                yield [getattr(record, name) for name in columns] + [_readable(record, name) for name in personal]

        header = columns + personal
        csv_file = PackFile(export.csv_path, query=query)
        with _HashingEntry(archive, csv_file) as entry:
            writer = tabular.writer(entry)
            writer.writerow(header)
            count = 0
            for row in rows():
                writer.writerow(row)
                count += 1
        json_file = PackFile(export.json_path, query=query)
        with _HashingEntry(archive, json_file) as entry:
            array = _JsonArray(entry)
            for row in rows():
                array.write(json.dumps(dict(zip(header, row, strict=True)), cls=DjangoJSONEncoder) + "\n")
            array.finish()
        export.records = csv_file.records = json_file.records = count
        self.result.files += [csv_file, json_file]

    def _labels(self, model, plain: list[str]) -> dict[str, Any]:
        """label_columns() of the exported columns, keyed by the label's column name."""
        user_names = self.pack.requested_by.has_perm(USER_NAMES_PERMISSION)
        return {
            _label_name(attname): expression
            for attname, expression in label_columns(model, user_names=user_names).items()
            if attname in plain and _label_name(attname) not in plain
        }

    # --- the rest of the pack -----------------------------------------------------------
    def _write_audit_extract(self, archive, included: list[tuple[RecordExport, QuerySet]]) -> None:
        from django.contrib.contenttypes.models import ContentType

        condition = Q()
        for _export, queryset in included:
            content_type = ContentType.objects.get_for_model(queryset.model, for_concrete_model=True)
            if self.pack.customer_ids or self.pack.product_ids:
                ids = queryset.order_by().annotate(pk_text=Cast("pk", CharField())).values("pk_text")
                condition |= Q(content_type=content_type, object_id__in=Subquery(ids))
            else:
                condition |= Q(content_type=content_type)
        entries = AuditEntry.objects.none()
        if included:
            entries = AuditEntry.objects.filter(condition, created_at__gte=self.start, created_at__lt=self.end)
        values = entries.order_by("seq").values(
            "seq",
            "created_at",
            "actor_kind",
            "actor_id",
            "action",
            "content_type__app_label",
            "content_type__model",
            "object_id",
            "object_label",
            "changes",
            "reason",
            "prev_hash",
            "hash",
        )
        self._write_query(archive, "audit/audit-trail.csv", "audit/audit-trail.json", values)

    def _write_query(self, archive, csv_path: str, json_path: str, values: QuerySet) -> int:
        if values.query.is_empty():
            sql, params = "SELECT NULL AS none WHERE false", []
        else:
            sql, params = values.query.sql_with_params()
        csv_file, json_file = PackFile(csv_path), PackFile(json_path)
        count = _copy_both(archive, csv_file, json_file, sql, params)
        self.result.files += [csv_file, json_file]
        return count

    def _write_survey_results(self, archive) -> None:
        from apps.surveys.models import Answer

        answers = (
            Answer.objects.filter(submitted_at__gte=self.start, submitted_at__lt=self.end, score__isnull=False)
            .order_by()
            .values("campaign_id", "campaign__name", "kind")
            .annotate(
                answers=Count("id"),
                promoters=Count("id", filter=Q(kind="nps", score__gte=9)),
                detractors=Count("id", filter=Q(kind="nps", score__lte=6)),
                satisfied=Count("id", filter=Q(kind="csat", score__gte=4)),
                score_sum=Sum("score"),
            )
            .order_by("campaign_id", "kind")
        )
        self._write_query(archive, "surveys/results-by-campaign.csv", "surveys/results-by-campaign.json", answers)

    def _write_bytes(self, archive, path: str, data: bytes) -> None:
        pack_file = PackFile(path)
        with _HashingEntry(archive, pack_file) as entry:
            entry.write(data)
        self.result.files.append(pack_file)

    def _write_documents(self, archive) -> list[dict[str, Any]]:
        documents = []
        for clause in self.pack.clauses:
            for provider in clauses.documents_for(clause):
                for document in provider(self.pack.period_start, self.pack.period_end):
                    path = f"documents/{document['name']}"
                    self._write_bytes(archive, path, document["content"])
                    documents.append({"clause": clause, "path": path, "title": document["title"]})
        return documents

    def build(self, target: Path) -> BuildResult:
        """Write the whole pack to `target` (a new file); returns what it holds."""
        exports = self.exports()
        included: list[tuple[RecordExport, QuerySet]] = []
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for export in exports:
                queryset = self.queryset(export)
                if queryset is None:
                    continue
                if self.pack.include_personal_data:
                    self._write_personal(archive, export, queryset)
                else:
                    self._write_masked(archive, export, queryset)
                included.append((export, queryset))
                self.result.records += export.records
            self._write_audit_extract(archive, included)
            if "9.1.2" in self.pack.clauses:
                self._write_survey_results(archive)
            documents = self._write_documents(archive)
            covering = checkpoints.covering(checkpoints.read_log(), start=self.start, end=self.end)
            lines = "".join(
                json.dumps(
                    {
                        "seq": c.seq,
                        "hash": c.hash,
                        "signed_at": c.signed_at,
                        "key_id": c.key_id,
                        "signature": c.signature,
                    },
                    sort_keys=True,
                )
                + "\n"
                for c in covering
            )
            self._write_bytes(archive, "audit/checkpoints.jsonl", lines.encode())
            public_key = checkpoints.public_key_b64()
            self._write_bytes(archive, "public_key.txt", public_key.encode() + b"\n")
            self._write_bytes(archive, "verify_evidence.py", VERIFY_SCRIPT.read_bytes())
            index = render_to_string(
                "evidence/pack_index.html",
                {
                    "pack": self.pack,
                    "exports": exports,
                    "clause_titles": clauses.CLAUSES,
                    "documents": documents,
                    "checkpoints": covering,
                    "public_key": public_key,
                },
            )
            self._write_bytes(archive, "index.html", index.encode())
            self.result.exports = exports
            manifest = self.manifest(public_key)
            archive.writestr("manifest.json", manifest)
            signature = checkpoints.private_key().sign(manifest)
            archive.writestr("manifest.sig", base64.b64encode(signature) + b"\n")
        return self.result

    def manifest(self, public_key: str) -> bytes:
        pack = self.pack
        body = {
            "format": PACK_FORMAT,
            "pack_id": pack.pk,
            "exported_at": timezone.now().isoformat(timespec="seconds"),
            "exported_by": {"id": pack.requested_by_id, "name": pack.requested_by.display_name},
            "period": {"from": pack.period_start.isoformat(), "to": pack.period_end.isoformat()},
            "clauses": list(pack.clauses),
            "filters": {"customers": list(pack.customer_ids), "products": list(pack.product_ids)},
            "personal_data": "included" if pack.include_personal_data else "masked",
            "public_key": public_key,
            "key_id": checkpoints.key_id(base64.b64decode(public_key)),
            "files": [
                {
                    "path": f.path,
                    "sha256": f.sha256,
                    "size": f.size,
                    **({"records": f.records} if f.records is not None else {}),
                    **({"query": f.query} if f.query else {}),
                }
                for f in self.result.files
            ],
        }
        return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False).encode()


def _readable(record, name: str) -> str:
    """A personal value in clear; empty for a person whose data was erased."""
    try:
        return getattr(record, name) or ""
    except (ErasedError, InvalidToken):
        return ""
