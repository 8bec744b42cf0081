from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from backend.assignments.kinds import kind_names
from backend.web.labels import REPORT_REASONS, SKIP_REASONS


def kind_choices() -> list[tuple[str, str]]:
    """ "any" and every registered kind (read when a form is made, not at import)."""
    return [("any", "any"), *((name, name) for name in kind_names())]


def is_valid_kind(kind: str) -> bool:
    return kind == "any" or kind in kind_names()


def language_name(code: str) -> str:
    try:
        info = get_language_info(code)
    except KeyError:
        return code
    return f"{info['name_local']} ({code})"


class ClaimForm(forms.Form):
    project = forms.SlugField()
    lang = forms.CharField(max_length=32)
    kind = forms.ChoiceField(choices=kind_choices)


class SkipForm(forms.Form):
    reason = forms.ChoiceField(choices=SKIP_REASONS, required=False)
    note = forms.CharField(max_length=400, required=False)

    def reason_text(self) -> str:
        reason = self.cleaned_data.get("reason") or "other"
        note = (self.cleaned_data.get("note") or "").strip()
        return f"{reason}: {note}" if note else reason


class ReportForm(forms.Form):
    reason = forms.ChoiceField(choices=REPORT_REASONS)
    text = forms.CharField(max_length=2000, required=False)


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=150,
        required=False,
        help_text=_("Shown on the leaderboard instead of your user name."),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages I can work in"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The dashboard offers work in these languages first."),
    )
    show_on_leaderboard = forms.BooleanField(label=_("Show me on the leaderboard"), required=False)

    def __init__(self, *args: Any, language_codes: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codes = list(
            dict.fromkeys([*language_codes, *(code for code, _name in settings.LANGUAGES)])
        )
        self.fields["languages"].choices = [(code, language_name(code)) for code in codes]  # type: ignore[attr-defined]
