"""The language we write to a customer in, and the pages their links open in.

A customer's language is recorded (a contact's preferred language, the language a complaint
was filed in) and decides every e-mail and every page reached through a link we sent them,
whoever or whatever triggers it. A browser's Accept-Language only decides the pages a visitor
finds by themself.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


def _supported(code: str | None) -> str | None:
    code = (code or "").strip().replace("_", "-").lower()
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def supported_language(*preferences: str | None) -> str:
    """The first of `preferences` the portal speaks, in its own code ("de-AT" and "DE" are
    "de"), else the portal's language. Never a language we have no catalogue for: Django's own
    catalogues would turn dates and its messages French in an otherwise English e-mail."""
    return next(filter(None, map(_supported, preferences)), settings.LANGUAGE_CODE)


def speak_recipients_language(request, *preferences: str | None) -> None:
    """Render this response in the language of the person the link was sent to.

    Called by the views behind links in our e-mails (tracking page, survey pages). A language
    the visitor chose on purpose (Django's language cookie, set by its `set_language` view)
    still wins; so does the browser's when the record names no language the portal speaks.
    LocaleMiddleware reads the active language back for the Content-Language header.
    """
    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME):
        return
    language = next(filter(None, map(_supported, preferences)), None)
    if language:
        translation.activate(language)
        request.LANGUAGE_CODE = language
