#!/usr/bin/env python3
"""Verify a QMS Portal evidence pack: every file's SHA-256 and size, and the manifest's signature.

Needs only Python 3.10+ and the `cryptography` package, so an auditor can check a pack
without trusting (or even reaching) the portal:

    python verify_evidence.py pack.zip --public-key <base64 key shown on the portal's integrity page>

Without --public-key the key inside the pack is used, which proves the files are unchanged
since signing but not who signed them. Exit status 0 when the pack is intact, 1 otherwise,
with every problem listed (a changed, added, removed or unreadable file, a bad signature).

The portal ships this very file inside every pack as verify_evidence.py.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hashlib
import json
import sys
import zipfile
from collections.abc import Iterator

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.txt"
CHUNK = 1024 * 1024


class Damaged(Exception):
    """A member of the pack cannot be read back: the archive itself is damaged."""


@contextlib.contextmanager
def _reading(name: str) -> Iterator[None]:
    """Turn any failure to read `name` into Damaged, naming the member.

    The pack is untrusted input, and a damaged one fails in whichever layer meets the damage
    first: the ZIP structure (BadZipFile; a bad CRC-32 only once the member is read to its end),
    the decompressor (zlib.error, EOFError, an lzma or bz2 error after a flipped method byte), a
    flipped "encrypted" flag (RuntimeError), an impossible version (NotImplementedError), a seek
    past the end (OSError, ValueError). To an auditor they all mean the same: this is not the
    pack that was signed. A list of types would miss the next one, so every Exception raised by
    a read is caught here, and reported as a problem rather than a traceback.
    """
    try:
        yield
    except Exception as error:
        raise Damaged(f"{name} is damaged and cannot be read ({_describe(error)})") from error


def _describe(error: Exception) -> str:
    # EOFError and some zlib errors carry no message; their type still says what happened.
    return str(error) or type(error).__name__


def _read(archive: zipfile.ZipFile, name: str) -> bytes:
    with _reading(name):
        return archive.read(name)


def _sha256(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with _reading(name), archive.open(name) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _signature_problem(manifest: bytes, signature_b64: bytes, public_key_b64: str) -> str:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64.strip(), validate=True))
        key.verify(base64.b64decode(signature_b64.strip(), validate=True), manifest)
    except (InvalidSignature, binascii.Error, ValueError):
        return "the manifest's signature does not verify with the public key"
    return ""


def verify(path: str, public_key: str | None = None) -> list[str]:
    """Every problem found in the pack; an empty list means intact. Never raises for a bad pack."""
    problems: list[str] = []
    try:
        archive = zipfile.ZipFile(path)
    except Exception as error:  # any failure, for the reasons given in _reading()
        return [f"cannot open the pack as a ZIP file: {_describe(error)}"]
    with archive:
        names = set(archive.namelist())
        for required in (MANIFEST, SIGNATURE):
            if required not in names:
                problems.append(f"{required} is missing")
        if problems:
            return problems
        try:
            manifest_bytes = _read(archive, MANIFEST)
        except Damaged as error:
            # Without the manifest there is nothing to check the other files against.
            return [str(error)]
        try:
            key = public_key or (_read(archive, PUBLIC_KEY).decode() if PUBLIC_KEY in names else "")
            signature = _read(archive, SIGNATURE)
        except (Damaged, UnicodeDecodeError) as error:
            problems.append(f"the signature cannot be checked: {error}")
        else:
            if not key:
                problems.append("no public key given and none in the pack")
            elif problem := _signature_problem(manifest_bytes, signature, key):
                problems.append(problem)
        try:
            listed = {entry["path"]: entry for entry in json.loads(manifest_bytes)["files"]}
            if not all(isinstance(name, str) and isinstance(entry, dict) for name, entry in listed.items()):
                raise TypeError("a manifest entry is not a path with its digest")
        except (ValueError, KeyError, TypeError):
            return [*problems, "the manifest cannot be read"]
        for name in sorted(names - listed.keys() - {MANIFEST, SIGNATURE}):
            problems.append(f"{name} was added: it is not in the manifest")
        for name, entry in sorted(listed.items()):
            if name not in names:
                problems.append(f"{name} was removed: the manifest lists it")
                continue
            try:
                digest, size = _sha256(archive, name)
            except Damaged as error:
                # One unreadable member must not hide what is wrong with the others.
                problems.append(str(error))
                continue
            if digest != entry.get("sha256") or size != entry.get("size"):
                problems.append(f"{name} was changed: its SHA-256 or size differs from the manifest")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a QMS Portal evidence pack.")
    parser.add_argument("pack", help="the evidence pack (.zip)")
    parser.add_argument("--public-key", help="the portal's public key (base64), from its integrity page")
    args = parser.parse_args(argv)
    problems = verify(args.pack, args.public_key)
    if problems:
        print(f"{args.pack}: NOT INTACT", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"{args.pack}: intact (every file matches the signed manifest)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
