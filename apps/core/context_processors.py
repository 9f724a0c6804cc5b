from apps.core import navigation as menu


def navigation(request) -> dict:
    """The menu entries the signed-in user's role may use."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_entries": []}
    return {"nav_entries": menu.entries_for(user)}
