import pytest
from django import forms
from django.test import RequestFactory

from apps.core.public import HoneypotFormMixin, rate_limited


class ContactForm(HoneypotFormMixin):
    message = forms.CharField()


def test_honeypot_filled_in_refuses_the_form():
    assert ContactForm({"message": "hi"}).is_valid()
    form = ContactForm({"message": "hi", "website": "http://spam.example"})
    assert not form.is_valid()
    assert "website" in form.errors


@pytest.mark.parametrize("limit", [1, 3])
def test_rate_limit_counts_per_client_address(limit):
    factory = RequestFactory()
    first = factory.post("/", REMOTE_ADDR="203.0.113.7")
    other = factory.post("/", REMOTE_ADDR="203.0.113.8")
    results = [rate_limited(first, scope=f"t{limit}", limit=limit, window_seconds=60) for _ in range(limit + 1)]
    assert results == [False] * limit + [True]
    assert rate_limited(other, scope=f"t{limit}", limit=limit, window_seconds=60) is False
