from apps.accounts.roles import Role
from apps.customers import demo
from apps.customers.models import Contact, Customer, FollowUpAction, Interaction, Product


def test_demo_data_loads_once(personas):
    users = {
        Role.QUALITY_MANAGER: personas["quality_manager"],
        Role.STAFF: personas["staff"],
        Role.AUDITOR: personas["auditor"],
    }
    demo.load(users)
    counts = [Model.objects.count() for Model in (Customer, Contact, Product, Interaction, FollowUpAction)]
    demo.load(users)
    assert [Model.objects.count() for Model in (Customer, Contact, Product, Interaction, FollowUpAction)] == counts
    assert counts[0] == len(demo.CUSTOMERS)
    assert counts[2] == len(demo.PRODUCTS)
    assert set(Customer.objects.values_list("country", flat=True)) >= {"DE", "GB"}
    assert Contact.objects.filter(survey_consent=True).exists()
    assert Contact.objects.filter(survey_consent=False).exists()
    assert FollowUpAction.objects.filter(done_at__isnull=False).exists()
    assert FollowUpAction.objects.open().exists()
    nordwind = Customer.objects.get(name="Nordwind Logistik GmbH")
    assert nordwind.contacts.order_by("id").first().name == "Katrin Vogel"
