"""The portal's Ed25519 signing key, made without Django: `manage.py generate_signing_key` runs
before any settings can load (production settings refuse to start without this very key)."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def generate_private_key() -> str:
    """A new signing key in the form PORTAL_SIGNING_KEY expects (base64 of the 32-byte seed)."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()
