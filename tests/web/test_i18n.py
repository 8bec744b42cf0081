"""The interface is translated completely (German), independently of the language of
the work; the compiled catalogue matches its source."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from backend.assignments.services import assignment_claim_next

LOCALE = Path(settings.BASE_DIR) / "frontend" / "locale"


def _po_entries(path: Path) -> dict[str, str | tuple[str, ...]]:
    """msgid → msgstr (a tuple for plural forms) of a .po file, with fuzzy flags kept out;
    a msgid with a context is keyed as gettext stores it, ``context\x04msgid``."""
    entries: dict[str, str | tuple[str, ...]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        fuzzy = False
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif line.startswith(("msgctxt", "msgid", "msgstr")):
                current, _, value = line.partition(" ")
                fields[current] = ast.literal_eval(value)
            elif line.startswith('"') and current:
                fields[current] += ast.literal_eval(line)
        if not fields.get("msgid"):
            continue
        assert not fuzzy, f"fuzzy translation: {fields['msgid']!r}"
        if "msgctxt" in fields:
            fields["msgid"] = f"{fields['msgctxt']}\x04{fields['msgid']}"
        if "msgid_plural" in fields:
            entries[fields["msgid"]] = tuple(
                fields[key] for key in sorted(fields) if key.startswith("msgstr[")
            )
        else:
            entries[fields["msgid"]] = fields["msgstr"]
    return entries


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES if code != "en"])
def test_every_string_is_translated_and_compiled(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    entries = _po_entries(po)
    assert len(entries) > 300
    untranslated = [
        msgid
        for msgid, msgstr in entries.items()
        if not all(msgstr if isinstance(msgstr, tuple) else [msgstr])
    ]
    assert untranslated == []
    with (LOCALE / language / "LC_MESSAGES" / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for msgid, msgstr in entries.items():
        if isinstance(msgstr, tuple):
            assert compiled.ngettext(msgid, msgid, 1) == msgstr[0], msgid
        else:
            assert compiled.gettext(msgid) == msgstr, f"{msgid!r}: run `make messages` to recompile"


@pytest.mark.django_db
def test_the_interface_language_is_independent_of_the_work_language(make_user, project):
    volunteer = make_user()
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(volunteer)
    dashboard = client.get("/dashboard/").content.decode()
    assert "Was möchtest du tun?" in dashboard
    assert '<html lang="de">' in dashboard
    assignment = assignment_claim_next(
        user=volunteer, project=project, lang="en", kind="initial_prompt"
    )
    task = client.get(f"/task/{assignment.pk}/").content.decode()
    assert "Eine Anfrage schreiben" in task
    assert '<span lang="en">en</span>' in task
    # The language switcher (Django's set_language) changes the interface only.
    client.post("/i18n/setlang/", {"language": "en", "next": "/dashboard/"})
    assert "What would you like to do?" in client.get("/dashboard/").content.decode()
    assignment.refresh_from_db()
    assert assignment.lang == "en"
