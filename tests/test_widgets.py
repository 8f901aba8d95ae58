"""chorus.core.widgets: the Python-built widgets give Django's own markup, byte for byte, so a
page that switches to them looks the same (the reports page: bench/pages)."""

from __future__ import annotations

import pytest
from django import forms
from django.utils.translation import gettext_lazy

from chorus.core.widgets import CheckboxList

CASES = [
    pytest.param([("a", "A & b"), ("b", "<B>")], ["b"], {"id": "id_x"}, id="escaped-labels-one-checked"),
    pytest.param(
        [("g", [("a", "A"), ("b", "B")]), ("c", "C")], ["a", "c"], {"id": "id_x", "class": "k"}, id="groups"
    ),
    pytest.param([("a", "A")], None, None, id="no-id-no-value"),
    pytest.param(
        [(1, "One"), (2, "Two")], [2], {"id": "id_n", "required": True}, id="ints-and-a-bare-attribute"
    ),
    pytest.param(
        [("x", gettext_lazy("Channels")), ("y", '"quoted"')], ["x", "y"], {"id": "id_q"}, id="lazy-and-quotes"
    ),
    pytest.param([], [], {"id": "id_e"}, id="no-choices"),
]


@pytest.mark.parametrize(("choices", "value", "attrs"), CASES)
def test_checkbox_list_renders_what_djangos_checkbox_select_multiple_renders(choices, value, attrs):
    expected = forms.CheckboxSelectMultiple(choices=choices).render("f", value, attrs)
    assert CheckboxList(choices=choices).render("f", value, attrs) == expected


def test_a_form_field_with_it_renders_the_same_label_and_boxes():
    class Old(forms.Form):
        pick = forms.MultipleChoiceField(
            choices=[("a", "A"), ("b", "B")], widget=forms.CheckboxSelectMultiple
        )

    class New(forms.Form):
        pick = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], widget=CheckboxList)

    assert New(initial={"pick": ["b"]}).as_div() == Old(initial={"pick": ["b"]}).as_div()
    assert 'value="b" id="id_pick_1" checked' in New(initial={"pick": ["b"]}).as_div()
