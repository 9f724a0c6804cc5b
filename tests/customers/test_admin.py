import pytest

from tests.factories import UserFactory


@pytest.fixture
def superuser_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_contact_admin_list_shows_no_personal_data(superuser_client, contact):
    response = superuser_client.get("/admin/customers/contact/")
    assert response.status_code == 200
    content = response.content.decode()
    assert f">{contact.pk}<" in content
    for secret in ("Katrin", "k.vogel", "+49 40 555"):
        assert secret not in content


@pytest.mark.parametrize("model", ["customer", "contact", "product", "interaction", "followupaction"])
def test_admin_is_read_only(superuser_client, ids_for_admin, model):
    pk = ids_for_admin[model]
    assert superuser_client.get(f"/admin/customers/{model}/").status_code == 200
    assert superuser_client.get(f"/admin/customers/{model}/add/").status_code == 403
    assert superuser_client.get(f"/admin/customers/{model}/{pk}/delete/").status_code == 403
    response = superuser_client.get(f"/admin/customers/{model}/{pk}/change/")
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()


@pytest.fixture
def ids_for_admin(customer, contact, product, follow_up):
    return {
        "customer": customer.pk,
        "contact": contact.pk,
        "product": product.pk,
        "interaction": follow_up.interaction_id,
        "followupaction": follow_up.pk,
    }
