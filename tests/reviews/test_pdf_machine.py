"""Reports print on a machine whatever WeasyPrint thinks of its libraries (#22 §1).

A fresh machine of the project's kind has Pango but not the HarfBuzz subset library; WeasyPrint
then warns at import, and a process whose warnings are errors used to fail every report."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from qms_portal.env import BASE_DIR

# Hides libharfbuzz-subset from WeasyPrint's loader, as on a machine without the package.
HIDE_HARFBUZZ_SUBSET = textwrap.dedent("""\
    import cffi

    _dlopen = cffi.FFI.dlopen


    def dlopen(self, name, *args):
        if "harfbuzz-subset" in str(name):
            raise OSError(f"cannot load library {name!r}: hidden by the test")
        return _dlopen(self, name, *args)


    cffi.FFI.dlopen = dlopen
""")

PRINT_A_REPORT = textwrap.dedent("""\
    import django

    django.setup()
    from apps.reviews.report import render_document

    pdf, pages = render_document("<h1>Management review</h1><p>Inputs 9.3.2</p>")
    assert pdf.startswith(b"%PDF") and pages == 1
    from weasyprint.text import ffi

    print("subset library loaded:", ffi.harfbuzz_subset is not None)
""")


def test_a_report_prints_without_the_harfbuzz_subset_library_under_warnings_as_errors(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(HIDE_HARFBUZZ_SUBSET)
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(BASE_DIR)]),
        "DJANGO_SETTINGS_MODULE": "qms_portal.settings.test",
    }
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", PRINT_A_REPORT],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # The machine really lacked the library, so the warning was raised and did not fail the report.
    assert "subset library loaded: False" in result.stdout
