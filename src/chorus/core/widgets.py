"""Form widgets that render the same markup as Django's, in Python instead of templates."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


def _attrs(attrs: dict[str, Any]) -> SafeString:
    """django/forms/widgets/attrs.html: ` name="value"`, a bare name for True, nothing for False."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, str(value)),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


class CheckboxList(forms.CheckboxSelectMultiple):
    """Django's CheckboxSelectMultiple, byte for byte (tests/test_widgets.py compares them), built
    with format_html: the template version includes four templates per box, and the three forms
    of the reports page (~50 boxes) took most of its time (bench/pages full size: see bench/README)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        groups = []
        for group, options, _index in widget["optgroups"]:
            boxes = format_html_join("", "<div>\n    {}</div>", ((self._option(o),) for o in options))
            if group:
                groups.append(format_html("\n  <div><label>{}</label>{}\n  </div>", group, boxes))
            else:
                groups.append(boxes)
        box_id = widget["attrs"].get("id")
        css = widget["attrs"].get("class")
        return format_html(
            "<div{}{}>{}\n</div>",
            format_html(' id="{}"', box_id) if box_id else "",
            format_html(' class="{}"', css) if css else "",
            mark_safe("".join(groups)),  # noqa: S308 (each part built by format_html above)
        )

    @staticmethod
    def _option(option: dict[str, Any]) -> SafeString:
        value = option["value"]
        # The newlines are the ends of Django's template files (input.html, input_option.html,
        # checkbox_option.html), kept so the page's HTML does not change.
        box = format_html(
            '<input type="{}" name="{}"{}{}>\n',
            option["type"],
            option["name"],
            format_html(' value="{}"', str(value)) if value is not None else "",
            _attrs(option["attrs"]),
        )
        if not option["wrap_label"]:
            return format_html("{}\n\n", box)
        box_id = option["attrs"].get("id")
        return format_html(
            "<label{}>{} {}</label>\n\n",
            format_html(' for="{}"', box_id) if box_id else "",
            box,
            option["label"],
        )
