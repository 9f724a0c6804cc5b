"""Every change to quality objectives: creating and editing them, their lifecycle,
measurements (entered or computed), the computed performance and its notification,
and raising a corrective action from an objective.

Each service runs in one transaction, locks the objective it changes, checks the
actor's right (PermissionDenied), the lifecycle (InvalidTransition) and the rules
(BusinessRuleViolation), and writes its audit entry in the same transaction.
"""

from apps.objectives.services.measurements import (
    measurement_record,
    objective_measure,
    objective_request_recompute,
)
from apps.objectives.services.nightly import measure_all, notify_past_target
from apps.objectives.services.objectives import (
    FROZEN_FIELDS,
    M2M_FIELDS,
    REASON_FIELDS,
    RULE_FIELDS,
    SCALAR_FIELDS,
    objective_activate,
    objective_create,
    objective_raise_action,
    objective_transition,
    objective_update,
)

__all__ = [
    "FROZEN_FIELDS",
    "M2M_FIELDS",
    "REASON_FIELDS",
    "RULE_FIELDS",
    "SCALAR_FIELDS",
    "measure_all",
    "measurement_record",
    "notify_past_target",
    "objective_activate",
    "objective_create",
    "objective_measure",
    "objective_raise_action",
    "objective_request_recompute",
    "objective_transition",
    "objective_update",
]
