"""Find active content (JavaScript, launch and automatic actions) in an uploaded PDF, without a PDF library.

Uploads come from the public, and staff open them in desktop readers that run a PDF's
JavaScript and automatic actions. We refuse such PDFs rather than clean them: a complaint
needs the document's text and pictures, never its scripts.

This is a byte scanner, not a parser, on purpose: a parser's idea of a file differs from
the reader's exactly where an attacker wants it to, and pypdf is only a dev dependency.
Two tricks would hide a name from a plain `grep`, and both are undone here:

- names may spell any byte as `#xx` (`/J#61vaScript` is `/JavaScript`): every name token is
  unescaped before it is compared;
- dictionaries may live inside compressed object streams (PDF 1.5): every stream whose
  filters we can undo (Flate, ASCIIHex, ASCII85, in any chain) is decoded, within a budget,
  and scanned too.

An object stream (`/Type /ObjStm`) that cannot be decoded (another filter, a predictor, an
encrypted file, over the budget) could hide anything, so it makes the file uncheckable,
and the caller refuses it as well. Other streams that cannot be decoded are pictures and
fonts in practice, and are left alone.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import re
import zlib
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

# Names that make a reader run something. /OpenAction alone is harmless (most PDFs use it to
# open at a page and zoom); it is dangerous only when it is JavaScript or a launch, which
# /JavaScript, /JS and /Launch catch. /AA holds actions run on opening a page, focusing a
# field, closing... XFA forms and RichMedia (Flash, 3D) carry scripts of their own.
ACTIVE_NAMES = {
    b"JavaScript": _("JavaScript"),
    b"JS": _("JavaScript"),
    b"AA": _("automatic actions"),
    b"Launch": _("launching a program"),
    b"XFA": _("an XFA form with scripts"),
    b"RichMedia": _("embedded rich media"),
}

# Everything a file's streams decode to, summed: a 5 MB upload can inflate to gigabytes.
DECODE_BUDGET = 32 * 1024 * 1024
_FEED = 64 * 1024

# A name runs from "/" to the next white-space or delimiter character (PDF 32000-1, 7.2.2).
_NAME_CHAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"
_NAME = re.compile(rb"/(" + _NAME_CHAR + rb"*)")


def _whole_name(pattern: bytes) -> re.Pattern[bytes]:
    """`pattern` ending where its name ends: /N, not the start of /Names."""
    return re.compile(pattern + rb"(?!" + _NAME_CHAR + rb")")


_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")
_ENDSTREAM = re.compile(rb"endstream")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)")
_FILTERS = re.compile(rb"/Filter\s*(\[[^\]]*\]|/" + _NAME_CHAR + rb"+)")

_OBJECT_STREAM = _whole_name(rb"/Type\s*/ObjStm")
_NAME_N = _whole_name(rb"/N")
_NAME_FIRST = _whole_name(rb"/First")
_NAME_FILTER = _whole_name(rb"/Filter")
_PREDICTOR = re.compile(rb"/Predictor\s+(\d+)")
_ENCRYPT = _whole_name(rb"/Encrypt")

_DECODERS_BY_NAME = {
    b"FlateDecode": "flate",
    b"Fl": "flate",
    b"ASCIIHexDecode": "hex",
    b"AHx": "hex",
    b"ASCII85Decode": "a85",
    b"A85": "a85",
}


@dataclass
class PdfScan:
    """What the scan found: the kinds of active content, and whether some of the file could not be read."""

    active: set[str] = field(default_factory=set)
    uncheckable: bool = False


class _Undecodable(Exception):
    pass


# The longest name we look for, each of its bytes spelled #xx: a longer token is none of them.
_LONGEST_TOKEN = 3 * max(len(name) for name in ACTIVE_NAMES)


@functools.lru_cache(maxsize=4096)
def _unescape(name: bytes) -> bytes:
    return _ESCAPE.sub(lambda escape: bytes([int(escape.group(1), 16)]), name)


def _names(data: bytes) -> set[bytes]:
    # Distinct tokens first (in C), so a file of a million names costs a million only once.
    found = set()
    for token in set(_NAME.findall(data)):
        name = _unescape(token) if b"#" in token and len(token) <= _LONGEST_TOKEN else token
        if name in ACTIVE_NAMES:
            found.add(name)
    return found


def _unescaped_names(dictionary: bytes) -> bytes:
    """The dictionary with every #xx in its names spelled out, so `/Fl#61teDecode` reads as Flate."""
    return _NAME.sub(lambda match: b"/" + _unescape(match.group(1)), dictionary)


class _Budget:
    """Decoded bytes still allowed for this file; failed attempts are charged too, so that a
    hundred small bombs cost no more than one."""

    def __init__(self, total: int):
        self.left = total

    def charge(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise _Undecodable


def _inflate(data: bytes, budget: _Budget) -> bytes:
    # Fed in slices so that a stream damaged after its first part still yields that part, as
    # readers show it; a reader would run a script found there, so we must see it too.
    inflater = zlib.decompressobj()
    out = bytearray()
    for start in range(0, len(data), _FEED):
        try:
            piece = inflater.decompress(data[start : start + _FEED], max(budget.left, 0) + 1)
        except zlib.error:
            if not out:
                raise _Undecodable from None
            break
        out += piece
        budget.charge(len(piece))
        if inflater.unconsumed_tail:
            raise _Undecodable  # more output than the budget allows
        if inflater.eof:
            break
    return bytes(out)


def _decode(data: bytes, filters: list[str], budget: _Budget) -> bytes:
    for kind in filters:
        if kind == "flate":
            data = _inflate(data, budget)
            continue
        try:
            if kind == "hex":
                digits = re.sub(rb"\s", b"", data.split(b">", 1)[0])
                data = binascii.unhexlify(digits + b"0" * (len(digits) % 2))
            else:
                data = base64.a85decode(data.split(b"~>", 1)[0].removeprefix(b"<~"), ignorechars=b" \t\n\r\x0c\x00")
        except ValueError:  # binascii.Error is a ValueError
            raise _Undecodable from None
        budget.charge(len(data))
    return data


def _streams(data: bytes):
    """Each stream as (its dictionary with names unescaped, its raw bytes).

    Linear in the file's size whatever it holds: object headers and "endstream" keywords are
    found once, and a "stream" keyword inside an earlier stream's bytes is not a stream.
    """
    headers = [match.end() for match in _OBJ.finditer(data)]
    endings = [match.start() for match in _ENDSTREAM.finditer(data)]
    previous_end = 0
    for match in _STREAM.finditer(data):
        if match.start() < previous_end:
            continue
        header = bisect.bisect_right(headers, match.start()) - 1
        dictionary = _unescaped_names(data[max(headers[header] if header >= 0 else 0, previous_end) : match.end()])
        start = match.end()
        length = _LENGTH.search(dictionary)
        declared_end = start + int(length.group(1)) if length else -1
        if length and data[declared_end : declared_end + 64].lstrip().startswith(b"endstream"):
            end = declared_end
        else:
            ending = bisect.bisect_left(endings, start)
            end = endings[ending] if ending < len(endings) else len(data)
        previous_end = end
        yield dictionary, data[start:end]


def scan_pdf(data: bytes, *, budget: int = DECODE_BUDGET) -> PdfScan:
    """Scan the PDF's bytes and the streams we can decode for names that make a reader run something.

    Pure CPU on the bytes given (at most the attachment size limit) plus at most `budget`
    decoded bytes; never raises on a malformed file.
    """
    result = PdfScan()
    found = _names(data)
    left = _Budget(budget)
    encrypted = _ENCRYPT.search(data) is not None
    for dictionary, raw in _streams(data):
        # Readers find an object stream through the cross-reference table and need only its
        # /N and /First, so a stream with those is treated as one even without its /Type.
        is_object_stream = _OBJECT_STREAM.search(dictionary) is not None or (
            _NAME_N.search(dictionary) is not None and _NAME_FIRST.search(dictionary) is not None
        )
        declared = _FILTERS.search(dictionary)
        filters = [_DECODERS_BY_NAME.get(name) for name in _NAME.findall(declared.group(1))] if declared else []
        if not declared and _NAME_FILTER.search(dictionary):
            filters = [None]  # an indirect /Filter: we do not follow references
        predictor = _PREDICTOR.search(dictionary)
        if encrypted or None in filters or (predictor and int(predictor.group(1)) > 1):
            # Encrypted, or coded in a way we do not undo (LZW, a picture codec, a predictor
            # that re-codes the inflated bytes): harmless for a picture or a font, but an
            # object stream could hide any dictionary in it.
            result.uncheckable = result.uncheckable or is_object_stream
            continue
        if not filters and raw[:1] == b"\x78":
            # A stream that looks deflated without saying so (its dictionary too odd for this
            # scan to read) is inflated anyway: readers find its filter, so must we.
            filters = ["flate"]
        if not filters:
            continue  # plain bytes: the scan of the whole file has seen them
        try:
            found |= _names(_decode(raw, filters, left))
        except _Undecodable:
            result.uncheckable = result.uncheckable or is_object_stream
    result.active = {ACTIVE_NAMES[name] for name in found}
    return result
