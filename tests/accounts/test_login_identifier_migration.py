"""Stored addresses are folded like the sign-in identifier (migration accounts 0005)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection

from apps.accounts.models import User
from tests.factories import UserFactory

migration = importlib.import_module("apps.accounts.migrations.0005_login_identifiers")

pytestmark = pytest.mark.django_db


def _store(user: User, email: str) -> None:
    # Written as an older release would have stored it, past today's normalisation.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET email = %s WHERE id = %s", [email, user.pk])


def test_addresses_stored_in_another_spelling_are_folded_and_sign_in_finds_them():
    user = UserFactory()
    _store(user, "stra\u00dfe@example.de")
    migration.fold_addresses(django_apps, None)
    user.refresh_from_db()
    assert user.email == "strasse@example.de"
    assert User.objects.get_by_natural_key("STRASSE@example.de") == user


def test_two_accounts_folding_to_one_address_stop_the_migration_naming_both():
    first, second = UserFactory(), UserFactory()
    _store(first, "stra\u00dfe@example.de")
    _store(second, "strasse@example.de")
    with pytest.raises(RuntimeError, match=rf"#{first.pk} and #{second.pk}"):
        migration.fold_addresses(django_apps, None)
