import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qms_portal.settings.production")

application = get_wsgi_application()

# Refuse to serve with a master key this database was not encrypted with: every read would
# fail and new records would be written under it (apps/core/keys.py). Here, not in an app's
# ready(): migrate and makemigrations load the apps too, on databases without the table.
from apps.core.keys import verify_at_startup  # noqa: E402 - needs the apps loaded above

verify_at_startup()
