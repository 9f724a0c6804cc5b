#!/usr/bin/env python
"""Django's command-line utility. It does not guess its settings: DJANGO_SETTINGS_MODULE must say
which (`make run`, `make test`, the image and the compose file set it)."""

import os
import sys
from importlib import import_module

# Commands that make the secrets production settings refuse to start without. They run without
# loading any settings, so that the first key can be made before any key exists.
WITHOUT_SETTINGS = {
    "generate_signing_key": "apps.audit.management.commands.generate_signing_key",
}

NO_SETTINGS = """\
manage.py does not guess which settings to use: set DJANGO_SETTINGS_MODULE (or pass --settings).
On a server it is qms_portal.settings.production (DATABASE_URL and the secrets come from the
environment; README.md, "Configuration"); on a development machine qms_portal.settings.local,
e.g. `DJANGO_SETTINGS_MODULE=qms_portal.settings.local .venv/bin/python manage.py migrate`, which
uses the embedded servers of `make run` unless DATABASE_URL says otherwise. `make run` and
`make test` set it themselves. Without this, a command meant for development (seed_demo with its
public demo logins, say) could run against whatever database DATABASE_URL names.
"""


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command in WITHOUT_SETTINGS:
        import_module(WITHOUT_SETTINGS[command]).Command().run_from_argv(sys.argv)
        return
    named = any(arg == "--settings" or arg.startswith("--settings=") for arg in sys.argv[2:])
    if not (os.environ.get("DJANGO_SETTINGS_MODULE") or named):
        sys.stderr.write(NO_SETTINGS)
        sys.exit(2)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
