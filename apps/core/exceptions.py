class InvalidTransition(Exception):
    """A workflow step that the record's current state does not allow (API: 409)."""


class BusinessRuleViolation(Exception):
    """A request that is well-formed but breaks a rule of the quality system (API: 409)."""


def dependency_errors() -> tuple[type[Exception], ...]:
    """What a stopped PostgreSQL, Redis or broker raises: the portal answers 503 and retries later."""
    import kombu.exceptions
    import redis.exceptions
    from django.db import InterfaceError, OperationalError

    return (
        OperationalError,
        InterfaceError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        kombu.exceptions.OperationalError,
    )


def request_too_large_errors() -> tuple[type[Exception], ...]:
    """Django's refusals of a body with too much form data, too many fields or too many files."""
    from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent

    return (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)
