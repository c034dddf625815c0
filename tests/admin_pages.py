"""Posting an admin change page as a browser would, from the page the test client got."""


def _values(form):
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[form.add_prefix(name)] = "on" if value is True else value
    return data


def form_data(page, **changes):
    """What the browser would post: the page's own form values (the campaign's and its
    variants'), with `changes` (variant fields named as posted, e.g. variants-0-amounts_monthly)."""
    data = _values(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_values(formset.management_form))
        for form in formset.forms:
            data.update(_values(form))
    data.update(changes)
    return data
