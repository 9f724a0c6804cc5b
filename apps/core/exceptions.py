class InvalidTransition(Exception):
    """A workflow step that the record's current state does not allow (API: 409)."""


class BusinessRuleViolation(Exception):
    """A request that is well-formed but breaks a rule of the quality system (API: 409)."""
