"""Small, real PDFs for the attachment tests: a clean one, and each way of carrying JavaScript.

Built by hand (not with pypdf) so that each test controls exactly where the active content sits;
tests read them back with pypdf to prove a reader finds what the scanner must find.
"""

from __future__ import annotations

import zlib

PAGE_CONTENT = zlib.compress(b"BT /F1 18 Tf 72 720 Td (The pump leaks at the flange.) Tj ET")


def _page_objects(*, page_extra: bytes = b"") -> dict[int, bytes]:
    return {
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >>" + page_extra + b" >>",
        4: b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(PAGE_CONTENT) + PAGE_CONTENT + b"\nendstream",
        5: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }


def _classic(objects: dict[int, bytes]) -> bytes:
    """A PDF 1.4 file with a classic cross-reference table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets.get(number, 0)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def clean_pdf() -> bytes:
    # /OpenAction to a page and zoom is in most PDFs that office programs write: it must pass.
    return _classic({1: b"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] >>", **_page_objects()})


def open_action_javascript(name: bytes = b"/JavaScript") -> bytes:
    catalog = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>"
    return _classic({1: catalog, **_page_objects(), 6: b"<< /S " + name + b" /JS (app.alert\\(1\\)) >>"})


def names_javascript() -> bytes:
    """Document-level JavaScript in the /Names tree, run when the file opens."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 6 0 R >> >>"
    return _classic({1: catalog, **_page_objects(), 6: b"<< /Names [(x) << /S /JavaScript /JS (app.alert(1)) >>] >>"})


def page_additional_actions() -> bytes:
    """/AA on the page: an action run when the page opens (a harmless one here: any /AA is refused)."""
    objects = _page_objects(page_extra=b" /AA << /O 6 0 R >>")
    return _classic({1: b"<< /Type /Catalog /Pages 2 0 R >>", **objects, 6: b"<< /S /Named /N /NextPage >>"})


def launch_action() -> bytes:
    catalog = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>"
    return _classic({1: catalog, **_page_objects(), 6: b"<< /S /Launch /F (cmd.exe) >>"})


def hex_escaped_javascript() -> bytes:
    """/J#61vaScript and /J#53: the same names, spelled so that a plain byte search misses them."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>"
    return _classic({1: catalog, **_page_objects(), 6: b"<< /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"})


def object_stream_javascript(*, filter_name: bytes = b"/FlateDecode", extra: bytes = b"") -> bytes:
    """A PDF 1.5 file whose catalog and action live in a compressed object stream (no name in clear)."""
    hidden = {
        1: b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>",
        6: b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>",
    }
    header, body = bytearray(), bytearray()
    for number, text in hidden.items():
        header += b"%d %d " % (number, len(body))
        body += text + b" "
    payload = zlib.compress(bytes(header) + bytes(body))
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, text in _page_objects().items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + text + b"\nendobj\n"
    offsets[7] = len(out)
    out += (
        b"7 0 obj\n<< /Type /ObjStm /N %d /First %d /Length %d /Filter %s%s >>\nstream\n"
        % (len(hidden), len(header), len(payload), filter_name, extra)
        + payload
        + b"\nendstream\nendobj\n"
    )
    xref_at = len(out)
    rows = bytearray(b"\x00\x00\x00\x00\x00\xff\xff")  # object 0: free
    for number in range(1, 9):
        if number in hidden:
            rows += b"\x02" + (7).to_bytes(4, "big") + list(hidden).index(number).to_bytes(2, "big")
        elif number == 8:
            rows += b"\x01" + xref_at.to_bytes(4, "big") + b"\x00\x00"
        else:
            rows += b"\x01" + offsets[number].to_bytes(4, "big") + b"\x00\x00"
    out += (
        b"8 0 obj\n<< /Type /XRef /Size 9 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(rows)
        + rows
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    )
    return bytes(out)
