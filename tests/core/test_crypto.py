import importlib
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import models
from django.test.utils import isolate_apps

from apps.core import crypto, keys
from apps.core.models import MasterKeyCheck
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.workers import ROOT, celery_workers, wait_for


def test_blind_index_ignores_case_and_surrounding_space_and_is_keyed(settings):
    assert crypto.blind_index(" Jane@Example.com ") == crypto.blind_index("jane@example.com")
    first = crypto.blind_index("jane@example.com")
    settings.BLIND_INDEX_KEY = "another-key-of-at-least-thirty-two-characters"
    assert crypto.blind_index("jane@example.com") != first


def test_short_blind_index_key_is_refused(settings):
    settings.BLIND_INDEX_KEY = "too-short"
    with pytest.raises(ImproperlyConfigured):
        crypto.blind_index("x@example.com")


def test_malformed_master_key_is_a_clear_configuration_error(settings):
    settings.FIELD_ENCRYPTION_KEY = "not-a-fernet-key"
    with pytest.raises(ImproperlyConfigured, match="Fernet"):
        crypto.new_wrapped_key()


def test_rotation_rewraps_data_keys_so_old_master_key_can_go(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    wrapped = crypto.new_wrapped_key()
    token = crypto.unwrap(wrapped).encrypt(b"secret")
    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"
    rewrapped = crypto.rewrap(wrapped)
    settings.FIELD_ENCRYPTION_KEY = new
    assert crypto.unwrap(rewrapped).decrypt(token) == b"secret"
    with pytest.raises(crypto.InvalidToken):
        crypto.unwrap(wrapped)


# --- start-up refuses a bad master key (#23) -------------------------------------------------------


def test_a_malformed_master_key_stops_start_up_before_any_request():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "qms_portal.settings.test", "FIELD_ENCRYPTION_KEY": "not-a-key"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY entry 1 of 1 is not a Fernet key" in result.stderr


def _wrong_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def contact(db):
    return ContactFactory(customer=CustomerFactory(), name="Jane Doe", email="jane.doe@example.com")


def test_a_wrong_master_key_makes_healthz_unavailable(client, contact, settings):
    keys.record_master_keys()
    settings.FIELD_ENCRYPTION_KEY = _wrong_key()
    response = client.get("/healthz")
    assert response.status_code == 503
    check = response.json()["checks"]["encryption_keys"]
    assert check["ok"] is False
    assert "matches none of the master keys" in check["error"]


def test_a_wrong_master_key_is_refused_before_any_key_check_value_was_recorded(client, contact, settings):
    # An installation upgraded to the key check: the data keys already stored tell.
    assert not MasterKeyCheck.objects.exists()
    settings.FIELD_ENCRYPTION_KEY = _wrong_key()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "does not open the data keys already stored" in response.json()["checks"]["encryption_keys"]["error"]


def test_the_web_server_refuses_to_start_with_a_wrong_master_key(contact, settings):
    import qms_portal.wsgi

    importlib.reload(qms_portal.wsgi)  # the right key: starts, and records its check value
    assert MasterKeyCheck.objects.filter(fingerprint=keys.fingerprint(settings.FIELD_ENCRYPTION_KEY)).exists()
    settings.FIELD_ENCRYPTION_KEY = _wrong_key()
    with pytest.raises(ImproperlyConfigured, match="matches none of the master keys"):
        importlib.reload(qms_portal.wsgi)


def test_check_deploy_refuses_a_wrong_master_key(contact, settings):
    keys.record_master_keys()
    settings.FIELD_ENCRYPTION_KEY = _wrong_key()
    with pytest.raises(CommandError, match=r"core\.E002"):
        call_command("check", "--deploy", "--tag", "encryption")


def test_a_new_key_in_front_of_the_recorded_one_is_a_rotation_and_is_recorded_at_start_up(client, contact, settings):
    keys.record_master_keys()
    new = _wrong_key()
    settings.FIELD_ENCRYPTION_KEY = f"{new},{settings.FIELD_ENCRYPTION_KEY}"
    keys.verify_at_startup()
    assert MasterKeyCheck.objects.filter(fingerprint=keys.fingerprint(new)).exists()
    settings.FIELD_ENCRYPTION_KEY = new  # the old key dropped: the new one alone is known now
    assert keys.master_key_problems() == []
    assert client.get("/healthz").json()["checks"]["encryption_keys"] == {"ok": True}


def test_a_tampered_key_check_value_is_refused(contact, settings):
    keys.record_master_keys()
    other = Fernet(_wrong_key()).encrypt(keys.CHECK_CONSTANT).decode()
    MasterKeyCheck.objects.update(token=other)
    assert keys.master_key_problems() == [
        f"The key check value of master key {keys.fingerprint(settings.FIELD_ENCRYPTION_KEY)} does not open "
        "under that key."
    ]


# --- the registry of key holders (#23) --------------------------------------------------------------


def test_every_model_holding_a_wrapped_key_is_registered():
    assert keys.check_key_holders() == []


def test_a_model_holding_a_wrapped_key_but_not_registered_fails_the_system_check():
    with isolate_apps("apps.core") as isolated:

        class ForgottenRecord(crypto.PersonalDataModel):
            class Meta:
                app_label = "core"

        class ForgottenColumn(models.Model):
            backup_key = crypto.WrappedKeyField(blank=True)

            class Meta:
                app_label = "core"

            def __str__(self) -> str:
                return "forgotten"

        errors = keys.check_key_holders(app_configs=isolated.get_app_configs())
    assert [(error.id, error.obj) for error in errors] == [
        ("core.E001", ForgottenRecord),
        ("core.E001", ForgottenColumn),
    ]
    assert "core.ForgottenColumn holds data keys wrapped by the master key (backup_key)" in errors[1].msg


def test_declaring_a_wrapped_key_changes_no_migration():
    _name, path, _args, _kwargs = crypto.WrappedKeyField(blank=True).deconstruct()
    assert path == "django.db.models.TextField"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("beat", [False, True], ids=["worker", "beat"])
def test_celery_refuses_to_start_with_a_wrong_master_key(tmp_path, beat):
    keys.record_master_keys()  # committed: the Celery process reads it
    with celery_workers(tmp_path, [], {"FIELD_ENCRYPTION_KEY": _wrong_key()}) as start:
        process = start("celery", beat=beat)
        exited = wait_for(lambda: process.poll() is not None, timeout=60)
    log = (tmp_path / "celery.log").read_text()
    assert exited, log
    assert process.returncode != 0
    assert "matches none of the master keys" in log
