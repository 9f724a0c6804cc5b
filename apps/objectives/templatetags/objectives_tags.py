from decimal import Decimal

from django import template

register = template.Library()


def plain(value):
    """A Decimal without trailing zeros and never in exponent form (50.0000 -> 50, 6.5000 -> 6.5)."""
    if not isinstance(value, Decimal):
        return value
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


register.filter("plain", plain)
