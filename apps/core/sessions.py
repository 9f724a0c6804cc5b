"""The session engine (settings.SESSION_ENGINE): Django's database sessions, except that a
PostgreSQL outage while saving a session is reported as the outage (a 503 page, "try again in
a moment") instead of as a session deleted meanwhile (SessionInterrupted, a 400 page)."""

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import UpdateError
from django.db import InterfaceError, OperationalError


class SessionStore(db.SessionStore):
    def save(self, must_create: bool = False) -> None:
        try:
            super().save(must_create=must_create)
        except UpdateError as error:
            if isinstance(error.__context__, OperationalError | InterfaceError):
                raise error.__context__ from None
            raise
