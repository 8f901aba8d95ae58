from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from chorus.media.models import MediaAsset, MediaFolder


class AssetForm(forms.Form):
    alt_text = forms.CharField(
        label=_("Alt text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Describe the image for people who cannot see it."),
    )
    credit = forms.CharField(label=_("Credit"), required=False, max_length=300)
    consent = forms.ChoiceField(label=_("Consent"), choices=MediaAsset.Consent.choices)
    consent_note = forms.CharField(
        label=_("Consent note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    folder = forms.ModelChoiceField(label=_("Folder"), queryset=MediaFolder.objects.none(), required=False)
    tags = forms.CharField(
        label=_("Tags"), required=False, help_text=_("Separate tags with commas."), max_length=1000
    )

    def __init__(self, *args: Any, workspace: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["folder"].queryset = MediaFolder.objects.filter(workspace=workspace)  # type: ignore[attr-defined]
        self.fields["folder"].label_from_instance = lambda f: f.path()  # type: ignore[attr-defined]

    def tag_names(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]
