import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from apps.core import crypto


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
