"""Stored addresses in the one spelling sign-in uses (apps.accounts.login.login_identifier).

Addresses were lower-cased before; the lookup now also folds width and case (`ß` to `ss`,
full-width letters to plain ones), so an address stored otherwise would no longer be found.
Two accounts that fold to one address cannot both keep it: the migration stops and names them
rather than merging people.
"""

import unicodedata

from django.db import migrations


def _fold(value: str) -> str:
    # A copy of login_identifier as it is today: migrations must not change when the code does.
    return unicodedata.normalize("NFKC", value or "").strip().casefold()


def fold_addresses(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    seen: dict[str, int] = {}
    changed = []
    for user_id, email in User.objects.order_by("pk").values_list("pk", "email"):
        folded = _fold(email)
        if folded in seen:
            raise RuntimeError(f"Users #{seen[folded]} and #{user_id} have the same sign-in address once folded.")
        seen[folded] = user_id
        if folded != email:
            changed.append((user_id, folded))
    for user_id, folded in changed:
        user = User.objects.get(pk=user_id)
        user.email = folded
        user.save(update_fields=["email"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_api_tokens")]

    operations = [migrations.RunPython(fold_addresses, migrations.RunPython.noop, elidable=True)]
