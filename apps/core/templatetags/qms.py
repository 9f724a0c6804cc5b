from django import forms, template

register = template.Library()


@register.filter
def bs_widget(bound_field):
    """Render a form field's widget with Bootstrap's classes and ARIA state."""
    widget = bound_field.field.widget
    if isinstance(widget, forms.Select | forms.SelectMultiple):
        css = "form-select"
    elif isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
        css = "form-check-input"
    else:
        css = "form-control"
    attrs = {"class": css}
    described_by = []
    if bound_field.help_text:
        described_by.append(f"{bound_field.auto_id}_help")
    if bound_field.errors:
        attrs["class"] += " is-invalid"
        attrs["aria-invalid"] = "true"
        described_by.append(f"{bound_field.auto_id}_errors")
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    return bound_field.as_widget(attrs=attrs)


@register.filter
def active_filters(form) -> int:
    """How many of a filter form's visible fields the request sets, for the phone's "Filters (n active)" toggle."""
    if not form.is_bound:
        return 0
    return sum(1 for field in form.visible_fields() if any(value != "" for value in form.data.getlist(field.html_name)))
