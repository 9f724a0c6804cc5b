"""Master keys and the data keys they wrap: one registry, rotation, and the checks that keep
a wrong key from starting.

Every model with a column holding a data key wrapped by the master key (FIELD_ENCRYPTION_KEY)
is a key holder and is listed in KEY_HOLDERS. Rotation re-wraps exactly these columns, so a
holder missing here would keep keys wrapped by the old master key and become unreadable when
that key is dropped; system check core.E001 fails for any model with a `WrappedKeyField`
(every PersonalDataModel has one) that is not listed.

Each master key the portal has used is recorded as a key check value (core.MasterKeyCheck):
a fingerprint naming the key and a constant encrypted under it. Start-up (qms_portal/wsgi.py),
/healthz and `check --deploy` refuse a FIELD_ENCRYPTION_KEY that matches none of them: such a
key fails every read, and new records would be written under it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps as django_apps
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, models, transaction

from apps.core import crypto

logger = logging.getLogger(__name__)

# (model label, columns holding wrapped data keys). Labels rather than classes: apps/core does
# not import the domain apps (STYLE.md rule 2).
KEY_HOLDERS_SPEC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("customers.Contact", ("data_key",)),
    ("complaints.Complaint", ("data_key",)),
    ("feedback.Feedback", ("data_key",)),
    ("surveys.Response", ("data_key",)),
    # E-mails about nobody have a key of their own; those sealed with a record leave data_key
    # empty (they use the record's key) and are skipped.
    ("core.OutboundEmail", ("data_key",)),
)

CHECK_CONSTANT = b"qms-portal master key check value v1"
FINGERPRINT_CONTEXT = b"qms-portal master key fingerprint v1"
SCAN_BATCH = 2000
FIX_UNREADABLE = (
    "Put the master key these were wrapped with back into FIELD_ENCRYPTION_KEY (after the newest "
    "key), run `manage.py rotate_encryption_keys`, and drop the old key only when "
    "`manage.py rotate_encryption_keys --check` reports none left."
)


@dataclass(frozen=True)
class KeyHolder:
    label: str
    columns: tuple[str, ...] = field(default=("data_key",))

    def model(self) -> type[models.Model]:
        return django_apps.get_model(self.label)


KEY_HOLDERS: tuple[KeyHolder, ...] = tuple(KeyHolder(label, columns) for label, columns in KEY_HOLDERS_SPEC)


def wrapped_key_columns(model: type[models.Model]) -> tuple[str, ...]:
    """The columns of `model` declared as wrapped data keys (PersonalDataModel.data_key is one)."""
    return tuple(f.attname for f in model._meta.concrete_fields if isinstance(f, crypto.WrappedKeyField))


# --- the registry check ------------------------------------------------------------------------


def check_key_holders(app_configs: Iterable | None = None, **kwargs) -> list[checks.CheckMessage]:
    """core.E001: a model holds a wrapped data key but KEY_HOLDERS does not list it (or not all
    of its key columns), so rotation would skip it."""
    configs = app_configs if app_configs is not None else django_apps.get_app_configs()
    registered = {holder.label.lower(): set(holder.columns) for holder in KEY_HOLDERS}
    errors = []
    for config in configs:
        for model in config.get_models():
            if model._meta.proxy:
                continue
            columns = set(wrapped_key_columns(model))
            if issubclass(model, crypto.PersonalDataModel):
                columns.add("data_key")
            missing = columns - registered.get(model._meta.label_lower, set())
            if missing:
                errors.append(
                    checks.Error(
                        f"{model._meta.label} holds data keys wrapped by the master key "
                        f"({', '.join(sorted(missing))}) but is not a registered key holder: "
                        "key rotation would skip it and its records would become unreadable "
                        "when the old master key is dropped.",
                        hint=f'Add ("{model._meta.label}", {tuple(sorted(columns))!r}) to '
                        "KEY_HOLDERS_SPEC in apps/core/keys.py.",
                        obj=model,
                        id="core.E001",
                    )
                )
    return errors


# --- scanning and re-wrapping --------------------------------------------------------------------


@dataclass
class Tally:
    """Data keys of one holder column: wrapped by the newest key, by an older configured key,
    or by no configured key at all."""

    current: int = 0
    old: int = 0
    unreadable: int = 0
    rewrapped: int = 0

    @property
    def total(self) -> int:
        return self.current + self.old + self.unreadable + self.rewrapped


class _Keys:
    """The configured master keys, split into the newest one and the rest, for telling which
    key wrapped a token: a Fernet token opens only under the key that made it."""

    def __init__(self) -> None:
        configured = crypto.master_keys()
        self.newest = configured[0][1]
        self.older = MultiFernet([fernet for _key, fernet in configured[1:]]) if len(configured) > 1 else None

    def open(self, wrapped: str) -> tuple[str, bytes | None]:
        """("current" | "old" | "unreadable", the data key when an older key opened it)."""
        token = wrapped.encode()
        try:
            self.newest.decrypt(token)
        except InvalidToken:
            pass
        else:
            return "current", None
        if self.older is not None:
            try:
                return "old", self.older.decrypt(token)
            except InvalidToken:
                pass
        return "unreadable", None


def _columns() -> Iterator[tuple[str, type[models.Model], str]]:
    for holder in KEY_HOLDERS:
        model = holder.model()
        for column in holder.columns:
            name = holder.label if len(holder.columns) == 1 else f"{holder.label}.{column}"
            yield name, model, column


def _wrapped_keys(model: type[models.Model], column: str, *, batch_size: int) -> Iterator[list[tuple[int, str]]]:
    last_pk = 0
    while True:
        # _base_manager: every row, whatever a default manager would hide.
        batch = list(
            model._base_manager.filter(pk__gt=last_pk)
            .exclude(**{column: ""})
            .order_by("pk")
            .values_list("pk", column)[:batch_size]
        )
        if not batch:
            return
        yield batch
        last_pk = batch[-1][0]


def scan(*, batch_size: int = SCAN_BATCH) -> dict[str, Tally]:
    """{holder: Tally} over every wrapped data key: one read-only pass in primary-key batches."""
    keys = _Keys()
    result = {}
    for name, model, column in _columns():
        tally = result[name] = Tally()
        for batch in _wrapped_keys(model, column, batch_size=batch_size):
            for _pk, wrapped in batch:
                state, _data_key = keys.open(wrapped)
                setattr(tally, state, getattr(tally, state) + 1)
    return result


def stale_data_keys() -> dict[str, int]:
    """{holder: count} of data keys not yet wrapped by the newest master key (holders with none left out)."""
    return {name: tally.old + tally.unreadable for name, tally in scan().items() if tally.old + tally.unreadable}


def rewrap_batch(model: type[models.Model], column: str, *, after_pk: int, batch_size: int, keys: _Keys) -> tuple:
    """Re-wrap one batch of `model.column` with the newest master key, in its own transaction.

    Returns (last pk seen or None when done, Tally of the batch). Rows already wrapped by the
    newest key are left untouched, so a rotation cut off half-way is finished by running it
    again. Rows are locked while they are re-wrapped: a concurrent save of the same row waits
    instead of writing back the key this batch replaces.
    """
    tally = Tally()
    with transaction.atomic():
        batch = list(
            model._base_manager.select_for_update()
            .filter(pk__gt=after_pk)
            .exclude(**{column: ""})
            .order_by("pk")
            .values_list("pk", column)[:batch_size]
        )
        if not batch:
            return None, tally
        pks, rotated = [], []
        for pk, wrapped in batch:
            state, data_key = keys.open(wrapped)
            if state == "old":
                pks.append(pk)
                rotated.append(keys.newest.encrypt(data_key).decode())
            else:
                setattr(tally, state, getattr(tally, state) + 1)
        if pks:
            _update_column(model, column, pks, rotated)
            tally.rewrapped = len(pks)
    return batch[-1][0], tally


def _update_column(model: type[models.Model], column: str, pks: list[int], values: list[str]) -> None:
    """One UPDATE for the whole batch (one per row took 1.5 ms a row: 150 s for 100,000).

    Raw SQL, like any unaudited_update: the wrapped data key is not part of the record, so no
    audit entry is written, and the audit guard of the holders' querysets is not in the way."""
    quote = connection.ops.quote_name
    table, pk_column = model._meta.db_table, model._meta.pk.column
    statement = (
        f"UPDATE {quote(table)} SET {quote(column)} = batch.wrapped "  # noqa: S608 - names from the model
        "FROM unnest(%s::bigint[], %s::text[]) AS batch(pk, wrapped) "
        f"WHERE {quote(table)}.{quote(pk_column)} = batch.pk"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [pks, values])


def rotate(*, batch_size: int = 500, progress: Callable[[str, Tally], None] | None = None) -> dict[str, Tally]:
    """Re-wrap every registered data key with the newest master key; {holder: Tally}.

    Records the newest key's check value first, so the keys it writes are recognised at the
    next start-up. Keys no configured master key opens are counted and left as they are.
    """
    problems = master_key_problems()
    if problems:
        raise ImproperlyConfigured(" ".join(problems))
    record_master_keys()
    keys = _Keys()
    result = {}
    for name, model, column in _columns():
        total = result[name] = Tally()
        after_pk = 0
        while True:
            after_pk, tally = rewrap_batch(model, column, after_pk=after_pk, batch_size=batch_size, keys=keys)
            for attribute in ("current", "unreadable", "rewrapped"):
                setattr(total, attribute, getattr(total, attribute) + getattr(tally, attribute))
            if after_pk is None:
                break
        if progress is not None:
            progress(name, total)
    return result


# --- the key check value ---------------------------------------------------------------------------


def fingerprint(key: str) -> str:
    """A name for a master key that does not reveal it: HMAC-SHA256 keyed with the key itself."""
    raw = base64.urlsafe_b64decode(key.encode())
    return hmac.new(raw, FINGERPRINT_CONTEXT, hashlib.sha256).hexdigest()[:16]


def _recorded() -> dict[str, str]:
    from apps.core.models import MasterKeyCheck

    return dict(MasterKeyCheck.objects.values_list("fingerprint", "token"))


def _opens_existing_data(fernets: list[Fernet]) -> bool | None:
    """Whether these keys open the newest wrapped data key of every holder that has one (None
    when no data key exists yet). Used only before any key check value was recorded."""
    candidate = MultiFernet(fernets)
    found = False
    for _name, model, column in _columns():
        wrapped = model._base_manager.exclude(**{column: ""}).order_by("-pk").values_list(column, flat=True).first()
        if wrapped is None:
            continue
        found = True
        try:
            candidate.decrypt(wrapped.encode())
        except InvalidToken:
            return False
    return True if found else None


def master_key_problems() -> list[str]:
    """Why the configured FIELD_ENCRYPTION_KEY must not be used with this database; [] if it may.

    Refused: a key none of the recorded key check values matches (a wrong key, or a new one put
    in place of the old key instead of in front of it), and a key whose fingerprint matches but
    whose check value does not open (a tampered table). A new key in front of a recorded one is
    a rotation under way and is accepted; it is recorded at start-up and by the rotation.
    Before any key was recorded (an installation upgraded to this check), the newest data key
    of each holder must open instead. Raises DatabaseError when the database cannot tell.
    """
    configured = [(fingerprint(key), fernet) for key, fernet in crypto.master_keys()]
    names = ", ".join(name for name, _fernet in configured)
    recorded = _recorded()
    if not recorded:
        if _opens_existing_data([fernet for _name, fernet in configured]) is False:
            return [
                f"FIELD_ENCRYPTION_KEY (keys {names}) does not open the data keys already stored: "
                "it is not the key this database was encrypted with. Start with the right key."
            ]
        return []
    problems = []
    matched = [(name, fernet) for name, fernet in configured if name in recorded]
    for name, fernet in matched:
        try:
            ok = fernet.decrypt(recorded[name].encode()) == CHECK_CONSTANT
        except InvalidToken:
            ok = False
        if not ok:
            problems.append(f"The key check value of master key {name} does not open under that key.")
    if not matched:
        problems.append(
            f"FIELD_ENCRYPTION_KEY (keys {names}) matches none of the master keys this database's "
            f"data keys were wrapped with (keys {', '.join(sorted(recorded))}): every record would "
            "fail to read, and new ones would be written under a key nobody expects. Start with "
            "the right key; to rotate, put the new key in front of the old one."
        )
    return problems


def record_master_keys() -> list[str]:
    """Record the key check value of each configured key not yet recorded; the fingerprints added.

    Only when the configured keys pass master_key_problems(), so a wrong key is never recorded.
    """
    from apps.core.models import MasterKeyCheck

    if master_key_problems():
        return []
    recorded = _recorded()
    added = []
    for key, fernet in crypto.master_keys():
        name = fingerprint(key)
        if name in recorded:
            continue
        _check, created = MasterKeyCheck.objects.get_or_create(
            fingerprint=name, defaults={"token": fernet.encrypt(CHECK_CONSTANT).decode()}
        )
        if created:
            added.append(name)
    return added


def verify_at_startup() -> None:
    """Refuse to serve with a master key this database was not encrypted with; record a new
    key put in front of a known one. A database that cannot be reached is left to /healthz:
    the web server starts, and reports, rather than crash-looping while PostgreSQL restarts."""
    crypto.master_keys()  # a malformed key is refused even without a database
    try:
        problems = master_key_problems()
        if not problems:
            added = record_master_keys()
            if added:
                logger.info("Recorded the key check value of master key(s) %s.", ", ".join(added))
    except DatabaseError as error:
        logger.warning("Master keys not verified at start-up: the database did not answer (%s).", error)
        return
    if problems:
        raise ImproperlyConfigured(" ".join(problems))


def health() -> dict:
    """The /healthz entry: ok unless the configured keys are refused (or cannot be parsed)."""
    try:
        problems = master_key_problems()
    except ImproperlyConfigured as error:
        return {"ok": False, "error": str(error)}
    except DatabaseError as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": not problems, **({"error": " ".join(problems)} if problems else {})}


# --- deploy checks -------------------------------------------------------------------------------------


def _not_verified(error: DatabaseError) -> None:
    # Not a check message: an unreachable or unmigrated database is not a key problem, and
    # `check --deploy` also vets settings on machines without one. Every command that needs
    # the database says so loudly; start-up and /healthz verify the keys there.
    logger.warning("Encryption keys not verified: the database did not answer (%s).", str(error).strip())


def check_master_keys(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """core.E002 (deploy): the configured master keys are refused by the key check value."""
    try:
        problems = master_key_problems()
    except DatabaseError as error:
        _not_verified(error)
        return []
    return [checks.Error(problem, id="core.E002") for problem in problems]


def check_data_keys(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """core.E003 (deploy): data keys no configured master key opens, per holder. core.W003:
    data keys still wrapped by an older key, which must not be dropped yet."""
    try:
        tallies = scan()
    except DatabaseError as error:
        _not_verified(error)
        return []
    messages: list[checks.CheckMessage] = []
    for name, tally in tallies.items():
        if tally.unreadable:
            messages.append(
                checks.Error(
                    f"{name}: {tally.unreadable} data key{'s' if tally.unreadable != 1 else ''} of "
                    f"{tally.total} wrapped by a master key that is no longer in FIELD_ENCRYPTION_KEY: "
                    "those records cannot be read.",
                    hint=FIX_UNREADABLE,
                    id="core.E003",
                )
            )
        if tally.old:
            messages.append(
                checks.Warning(
                    f"{name}: {tally.old} of {tally.total} data keys still wrapped by an older master key.",
                    hint="Run `manage.py rotate_encryption_keys` before dropping the older key.",
                    id="core.W003",
                )
            )
    return messages


def register_checks() -> None:
    """Called from CoreConfig.ready(). The registry check is cheap and always runs; the two
    that read the database run only with `check --deploy`. Celery's worker and beat verify the
    master keys when they start, as the web server does in qms_portal/wsgi.py."""
    from celery import signals

    checks.register(check_key_holders, "encryption")
    checks.register(check_master_keys, "encryption", deploy=True)
    checks.register(check_data_keys, "encryption", deploy=True)
    signals.worker_init.connect(_verify_celery_start, weak=False, dispatch_uid="qms-keys-worker")
    signals.beat_init.connect(_verify_celery_start, weak=False, dispatch_uid="qms-keys-beat")


def _verify_celery_start(**kwargs) -> None:
    from django.db import connection as default_connection

    try:
        verify_at_startup()
    except ImproperlyConfigured as error:
        logger.critical("Refusing to start: %s", error)
        # Celery logs and swallows an exception raised by a signal handler; SystemExit it lets
        # through, so a worker with a wrong key stops instead of writing under that key.
        raise SystemExit(f"Refusing to start: {error}") from error
    finally:
        # Opened in the parent before the pool forks: children must not share its socket.
        default_connection.close()
