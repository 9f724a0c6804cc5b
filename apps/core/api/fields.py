"""Serializer fields for the API's date inputs: the range of apps.core.dates, as on the pages."""

from __future__ import annotations

from rest_framework import serializers

from apps.core.dates import validate_in_range


class DateField(serializers.DateField):
    default_validators = [validate_in_range]


class DateTimeField(serializers.DateTimeField):
    default_validators = [validate_in_range]
