import factory

from apps.accounts.models import User
from apps.accounts.roles import GROUP_NAMES, Role

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A user in one role (use `role=`); password is PASSWORD."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if not create or extracted is None:
            return
        from django.contrib.auth.models import Group

        from tests.migrated_data import ensure_role_groups

        ensure_role_groups()
        self.groups.add(Group.objects.get(name=GROUP_NAMES[Role(extracted)]))
