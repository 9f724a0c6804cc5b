"""The public start page: what an anonymous visitor can do at `/` (#24)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

HOME = "/"


def test_an_anonymous_visitor_gets_the_four_public_actions():
    response = Client().get(HOME)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="start"' in html
    for name in ("feedback:submit", "complaints:public_new", "accounts:login"):
        assert f'href="{reverse(name)}"' in html, name
    # Following a complaint is the private link from the e-mail; there is no lookup by e-mail.
    assert 'data-testid="start-follow"' in html
    assert "tracking link" in html


def test_the_start_page_writes_no_session_for_an_anonymous_visitor():
    response = Client().get(HOME)
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_the_start_page_is_in_german_when_the_browser_asks_for_it():
    response = Client().get(HOME, headers={"accept-language": "de"})
    html = response.content.decode()
    assert 'lang="de"' in html
    assert "Reklamation einreichen" in html


@pytest.mark.parametrize("persona", ["quality_manager", "auditor", "staff"])
def test_signed_in_people_still_land_on_their_home(persona, clients):
    html = clients[persona].get(HOME).content.decode()
    assert 'data-testid="start"' not in html
    assert 'data-testid="dashboard-role"' in html


@pytest.mark.parametrize("page", ["accounts:login", "complaints:public_new", "feedback:submit"])
def test_the_portal_name_leads_an_anonymous_visitor_to_the_start_page(page):
    response = Client().get(reverse(page))
    assert response.status_code == 200
    assert f'class="navbar-brand" href="{HOME}"' in response.content.decode()
