"""Personal data at rest: envelope encryption with one data key per person.

Every record holding personal data (a contact, later a complainant) has its
own random data key. Its fields are encrypted with that key (Fernet: AES-128-CBC
with HMAC-SHA256); the data key itself is stored wrapped by the master keys
from FIELD_ENCRYPTION_KEY (comma-separated, newest first).

- Key rotation re-wraps the small data keys with the newest master key
  (`manage.py rotate_encryption_keys`); field values are never re-encrypted.
  Every column holding a wrapped data key is a `WrappedKeyField`, and every
  model with one is listed in apps/core/keys.py (a system check says so).
- Erasure destroys the record's data key ("crypto-shredding"): ciphertext left
  in any copy of the row made afterwards, or in a field that was missed, can
  no longer be read. Backups taken before the erasure still hold the wrapped
  key, so they must expire by the retention policy.
- Lookups go through a blind index: HMAC-SHA256 of the normalised value under
  BLIND_INDEX_KEY, never a decrypting scan.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

__all__ = [
    "InvalidToken",
    "PersonalDataModel",
    "WrappedKeyField",
    "blind_index",
    "encrypted_field",
    "encrypted_properties",
]


@cache
def _parse(keys: str) -> tuple[tuple[str, Fernet], ...]:
    parts = [key.strip() for key in keys.split(",") if key.strip()]
    if not parts:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must hold at least one Fernet key.")
    parsed = []
    for position, key in enumerate(parts, start=1):
        try:
            parsed.append((key, Fernet(key)))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEY entry {position} of {len(parts)} is not a Fernet key "
                "(32 url-safe base64 bytes): "
                'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from error
    return tuple(parsed)


def master_keys() -> tuple[tuple[str, Fernet], ...]:
    """The configured master keys as (key, Fernet), newest first. Raises ImproperlyConfigured
    for an empty or malformed FIELD_ENCRYPTION_KEY."""
    return _parse(settings.FIELD_ENCRYPTION_KEY)


@cache
def _master(keys: str) -> MultiFernet:
    return MultiFernet([fernet for _key, fernet in _parse(keys)])


def master() -> MultiFernet:
    return _master(settings.FIELD_ENCRYPTION_KEY)


def new_data_key() -> tuple[Fernet, str]:
    """A fresh data key, as a Fernet ready to use and wrapped by the newest master key."""
    key = Fernet.generate_key()
    return Fernet(key), master().encrypt(key).decode()


def new_wrapped_key() -> str:
    """A fresh data key, wrapped by the newest master key."""
    return new_data_key()[1]


def unwrap(wrapped: str) -> Fernet:
    return Fernet(master().decrypt(wrapped.encode()))


def rewrap(wrapped: str) -> str:
    """The same data key, wrapped by the newest master key (MultiFernet.rotate)."""
    return master().rotate(wrapped.encode()).decode()


def blind_index(value: str) -> str:
    """Keyed hash of a normalised value (trimmed, lower-case), for equality lookups."""
    normalised = value.strip().lower()
    key = settings.BLIND_INDEX_KEY.encode()
    if len(key) < 32:
        raise ImproperlyConfigured("BLIND_INDEX_KEY must be at least 32 random characters.")
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


class WrappedKeyField(models.TextField):
    """A data key wrapped by the master key. Rotation re-wraps every column of this type, so
    a model holding one must be listed in apps/core/keys.py (system check core.E001)."""

    def deconstruct(self):
        # Migrations see a plain TextField: the type is a marker for the registry check, and the
        # column is the same, so declaring it changes no schema and writes no migration.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.TextField", args, kwargs


class ErasedError(Exception):
    """The record's data key was destroyed: its personal data can no longer be read."""


class PersonalDataModel(models.Model):
    """Base for models whose rows hold personal data of one person.

    Declare fields with `encrypted_field()`; read and write the plain value
    through the property it creates. `erase_personal_data()` belongs to the
    owning app's service, which also replaces the values by pseudonyms.
    """

    data_key = WrappedKeyField(blank=True, editable=False, help_text="Data key wrapped by the master key.")
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def _fernet(self) -> Fernet:
        cached = self.__dict__.get("_fernet_cache")
        if cached is not None:
            return cached
        if not self.data_key:
            if self.erased_at is not None:
                raise ErasedError(f"{type(self).__name__} #{self.pk}: personal data erased")
            # The new key is at hand: no need to unwrap what was just wrapped.
            fernet, self.data_key = new_data_key()
        else:
            fernet = unwrap(self.data_key)
        self.__dict__["_fernet_cache"] = fernet
        return fernet

    def _encrypt(self, value: str) -> str:
        return self._fernet().encrypt(value.encode()).decode() if value else ""

    def _decrypt(self, token: str) -> str:
        return self._fernet().decrypt(token.encode()).decode() if token else ""

    def shred_key(self) -> None:
        """Destroy the data key; every ciphertext made with it becomes unreadable."""
        self.data_key = ""
        self.__dict__.pop("_fernet_cache", None)


class EncryptedProperty(property):
    """The plain-value property of one ciphertext column (exports find them by this type)."""

    column: str


def encrypted_field(column: str) -> EncryptedProperty:
    """A property reading and writing the plain value of the ciphertext field `column`."""

    def getter(self: PersonalDataModel) -> str:
        token = getattr(self, column)
        if token and self.erased_at is not None and not self.data_key:
            return ""
        return self._decrypt(token)

    def setter(self: PersonalDataModel, value: str | None) -> None:
        setattr(self, column, self._encrypt(value or ""))

    prop = EncryptedProperty(getter, setter)
    prop.column = column
    return prop


def encrypted_properties(model) -> dict[str, str]:
    """{property name: ciphertext column} of a model's encrypted fields."""
    found = {}
    for klass in reversed(model.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, EncryptedProperty):
                found[name] = value.column
    return found
