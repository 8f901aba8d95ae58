"""French from day one: the French catalog is complete, and no English is left on a French page.

The page check renders each main page with French active and looks for every English msgid of
the catalog in the page's visible text: a string that stays English there was either not marked
for translation or is missing from the catalog.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chorus.accounts import actions
from chorus.accounts.models import ApiToken, Membership, User
from chorus.accounts.permissions import Role
from chorus.core.models import Heartbeat
from tests.conftest import PASSWORD, Cast

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])
PO_PATH = LOCALE_DIR / "fr" / "LC_MESSAGES" / "django.po"

# Proper names and words that are the same in both languages; everything else must be French.
ALLOWED_ENGLISH = {"Chorus", "API"}
# English msgids that are also ordinary French words: "la file" (the queue), "une note".
FRENCH_HOMOGRAPHS = {"file", "Note"}
# Names of other companies' products and settings, quoted as they spell them in setup help.
PRODUCT_NAMES = (
    "Sign In with LinkedIn using OpenID Connect",
    "Share on LinkedIn",
    "Community Management API",
    "Content Posting API",
    "Direct Post",
    "Facebook Login for Business",
    "Login Kit",
)
# Machine text inside sentences: paths, permission and model names (pages_manage_posts,
# content.post, /channels/connect/x/callback).
MACHINE_TOKEN = re.compile(r"\S*\w[/_.]\w\S*|/\S+")
# An English msgid is only looked for when it is longer than this (ignoring placeholders).
MIN_LETTERS = 4


# --- The catalog --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoEntry:
    msgid: str
    msgid_plural: str = ""
    context: str = ""
    msgstrs: tuple[str, ...] = ()
    fuzzy: bool = False

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and not self.context

    @property
    def translated(self) -> bool:
        return bool(self.msgstrs) and all(self.msgstrs)

    def label(self) -> str:
        return f"{self.context}|{self.msgid}" if self.context else self.msgid


def _unquote(literal: str) -> str:
    body = literal.strip()
    assert body.startswith('"') and body.endswith('"'), f"not a PO string: {literal!r}"
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), body[1:-1])


def read_po(path: Path) -> list[PoEntry]:
    """A small PO reader: enough for Django's makemessages output (obsolete entries are skipped)."""
    entries: list[PoEntry] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        fields: dict[str, str] = {}
        flags: set[str] = set()
        current = ""
        for line in block.splitlines():
            if line.startswith("#,"):
                flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif match := re.match(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")$", line):
                current = match.group(1)
                fields[current] = _unquote(match.group(2))
            elif line.startswith('"') and current:
                fields[current] += _unquote(line)
        if "msgid" not in fields:
            continue
        msgstrs = tuple(value for key, value in sorted(fields.items()) if key.startswith("msgstr"))
        entries.append(
            PoEntry(
                msgid=fields["msgid"],
                msgid_plural=fields.get("msgid_plural", ""),
                context=fields.get("msgctxt", ""),
                msgstrs=msgstrs,
                fuzzy="fuzzy" in flags,
            )
        )
    return entries


def ensure_compiled_catalog() -> None:
    """Compiles the French .mo when it is missing or older than the .po, so `pytest` works on a
    fresh clone. A lock file keeps parallel xdist workers from compiling over each other."""
    mo_path = PO_PATH.with_suffix(".mo")

    def fresh() -> bool:
        return mo_path.exists() and mo_path.stat().st_mtime >= PO_PATH.stat().st_mtime

    if fresh():
        return
    with open(Path(settings.VAR_DIR) / "compilemessages.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not fresh():
            # compilemessages walks the working directory for locale/ folders: keep it to ours.
            previous = os.getcwd()
            os.chdir(LOCALE_DIR.parent)
            try:
                call_command("compilemessages", locale=["fr"], verbosity=0)
            finally:
                os.chdir(previous)
    # Forget catalogs loaded before the compile, if any.
    from django.utils.translation import trans_real

    trans_real._translations = {}  # type: ignore[attr-defined]
    trans_real._default = None  # type: ignore[attr-defined]


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalog() -> None:
    ensure_compiled_catalog()


def _untranslated_and_fuzzy(entries: list[PoEntry]) -> tuple[list[str], list[str]]:
    untranslated = [e.label() for e in entries if not e.is_header and not e.translated]
    fuzzy = [e.label() or "(header)" for e in entries if e.fuzzy]
    return untranslated, fuzzy


def test_the_french_catalog_has_no_untranslated_or_fuzzy_entry() -> None:
    entries = read_po(PO_PATH)
    untranslated, fuzzy = _untranslated_and_fuzzy(entries)
    assert not untranslated, "Untranslated in django.po:\n" + "\n".join(untranslated)
    assert not fuzzy, "Fuzzy in django.po (review, then drop the flag):\n" + "\n".join(fuzzy)
    header = next(e for e in entries if e.is_header).msgstrs[0]
    assert "Language: fr\n" in header
    nplurals = int(re.search(r"nplurals=(\d+)", header).group(1))  # type: ignore[union-attr]
    wrong_plurals = [e.label() for e in entries if e.msgid_plural and len(e.msgstrs) != nplurals]
    assert not wrong_plurals, f"Plural entries without {nplurals} forms: {wrong_plurals}"
    assert len(entries) > 100


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext is not installed")
def test_msgfmt_accepts_the_french_catalog() -> None:
    # --check verifies placeholders: a msgstr that drops or renames %(name)s fails here.
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", os.devnull, str(PO_PATH)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_the_french_catalog_covers_every_marked_string(tmp_path: Path) -> None:
    """Runs makemessages on a copy of the source: a newly marked string that is not yet in the
    catalog (or whose English changed) shows up as untranslated or fuzzy. Fix: `make messages`,
    then translate the new entries."""
    copy = tmp_path / "chorus"
    shutil.copytree(
        LOCALE_DIR.parent, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "static", "migrations")
    )
    # Without settings, makemessages writes to ./locale (with them, to the real LOCALE_PATHS).
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "fr", "--no-obsolete", "--verbosity", "0"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    untranslated, fuzzy = _untranslated_and_fuzzy(
        read_po(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po")
    )
    assert not untranslated and not fuzzy, (
        "Strings marked in the code but not translated in django.po (run `make messages`, translate):\n"
        + "\n".join(untranslated + fuzzy)
    )


# --- Visible text of a page ----------------------------------------------------------------------


class VisibleText(HTMLParser):
    """Text a person sees or hears: element text, the title, and labelling attributes.

    Skips scripts and styles, machine text in <code>, and elements explicitly in another
    language (the language switch lists each language in its own name, `<option lang="en">`).
    """

    SKIPPED = {"script", "style", "template", "code"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
    SPOKEN_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")

    def __init__(self, page_language: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_language = page_language
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.chunks: list[str] = []

    @property
    def skipping(self) -> bool:
        return any(skipped for _tag, skipped in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = values.get("lang")
        other_language = lang is not None and tag != "html" and not lang.startswith(self.page_language)
        if not self.skipping and not other_language:
            self.chunks.extend(v for k in self.SPOKEN_ATTRIBUTES if (v := values.get(k)))
            if tag == "input" and values.get("type") in {"submit", "button", "reset"} and values.get("value"):
                self.chunks.append(values["value"] or "")
        if tag not in self.VOID:
            self.stack.append((tag, tag in self.SKIPPED or other_language))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.chunks.append(data)

    def text(self) -> str:
        return " ".join(" ".join(self.chunks).split())


def visible_text(html: str, page_language: str = "fr") -> str:
    parser = VisibleText(page_language)
    parser.feed(html)
    parser.close()
    return parser.text()


_PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]|%[sd]")


def _english_pattern(msgid: str) -> re.Pattern[str] | None:
    """A regex finding the English msgid in page text, placeholders matching any short run."""
    literals = _PLACEHOLDER.split(msgid)
    if sum(len(re.findall(r"\w", part)) for part in literals) < MIN_LETTERS or msgid in ALLOWED_ENGLISH:
        return None
    if msgid in FRENCH_HOMOGRAPHS:
        return None
    parts = []
    for index, literal in enumerate(literals):
        words = literal.split()
        part = r"\s+".join(re.escape(word) for word in words) if words else ""
        # "Connect %(label)s" is "Connect" then a space, not the start of "Connecter".
        if words and index < len(literals) - 1 and literal[-1].isspace():
            part += r"\s"
        parts.append(part)
    pattern = r".{1,120}?".join(part if part else r"\s*" for part in parts).strip()
    if re.match(r"\w", msgid):
        pattern = r"\b" + pattern
    if re.search(r"\w$", msgid):
        pattern += r"\b"
    return re.compile(pattern)


def english_msgids() -> dict[str, re.Pattern[str]]:
    """English strings that must not appear on a French page: those whose French differs."""
    patterns: dict[str, re.Pattern[str]] = {}
    for entry in read_po(PO_PATH):
        if entry.is_header:
            continue
        for english in filter(None, (entry.msgid, entry.msgid_plural)):
            if english in entry.msgstrs:  # "Actions", "OK", "Invitation": the same in French
                continue
            if (pattern := _english_pattern(english)) is not None:
                patterns[english] = pattern
    return patterns


def english_left_in(text: str, fixture_strings: set[str]) -> list[str]:
    for value in sorted(fixture_strings, key=len, reverse=True):
        text = text.replace(value, " ")
    for name in PRODUCT_NAMES:
        text = text.replace(name, " ")
    text = " ".join(MACHINE_TOKEN.sub(" ", text).split())  # runs of spaces make the search slow
    return sorted(english for english, pattern in english_msgids().items() if pattern.search(text))


def test_the_visible_text_skips_scripts_code_and_other_languages() -> None:
    html = """<html lang="fr"><head><title>Membres · Chorus</title><style>p{}</style></head><body>
      <nav aria-label="Navigation principale"><select><option lang="en">English</option>
      <option lang="fr">Français</option></select></nav><p>Voir <code>member.invited</code></p>
      <script>alert("Sign in")</script><input type="submit" value="Envoyer"><br></body></html>"""
    assert visible_text(html) == "Membres · Chorus Navigation principale Français Voir Envoyer"


def test_the_english_finder_matches_placeholders_and_whole_words() -> None:
    pattern = _english_pattern("Invitation sent to %(email)s.")
    assert pattern is not None and pattern.search("Ok. Invitation sent to a@b.org. Next")
    role = _english_pattern("Role")
    assert role is not None and not role.search("Rôle Roles") and role.search("Your Role.")
    assert _english_pattern("Who") is None  # too short to tell from another language's word
    connect = _english_pattern("Connect %(label)s")
    assert connect is not None and connect.search("Connect WordPress")
    assert not connect.search("Connecter WordPress")
    assert english_left_in("Autorisez pages_manage_posts sur /channels/connect/", set()) == []


# --- French pages --------------------------------------------------------------------------------

NEUTRAL_NAMES = [
    "Alix Martin",
    "Camille Durand",
    "Dominique Petit",
    "Sacha Bernard",
    "Noa Robert",
    "Eden Morel",
]


@dataclass
class FrenchPage:
    client: Client
    url: str
    method: str = "get"
    data: dict[str, str] | None = None
    machine_text: tuple[str, ...] = ()
    """Words the page quotes as the software spells them (CSV column names): not interface text."""


@pytest.fixture
def french_cast(cast: Cast) -> Cast:
    # The cast's names are role labels ("Owner", "Editor"): give people names that are in no
    # language, so an English role label left on a page is not mistaken for a person's name.
    for user, name in zip(cast.members.values(), NEUTRAL_NAMES, strict=False):
        User.objects.filter(pk=user.pk).update(name=name)
    owner = User.objects.get(pk=cast.owner.pk)
    owner.is_staff = True  # health page, new organizations, the admin link
    owner.save(update_fields=["is_staff"])
    cast.members = {role: User.objects.get(pk=user.pk) for role, user in cast.members.items()}
    return cast


def french_client(user: User | None = None, **headers: str) -> Client:
    client = Client(headers=headers)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    if user is not None:
        client.force_login(user)
    return client


def _invite(cast: Cast, email: str = "nouvelle@example.org") -> str:
    owner_membership = Membership.objects.get(workspace=cast.workspace, user=cast.owner)
    _invitation, raw = actions.invite_member(
        workspace=cast.workspace, actor_membership=owner_membership, email=email, role=Role.EDITOR
    )
    return raw


def _page_login(cast: Cast) -> FrenchPage:
    return FrenchPage(french_client(), reverse("login"))


def _page_login_with_error(cast: Cast) -> FrenchPage:
    return FrenchPage(
        french_client(), reverse("login"), "post", {"username": cast.owner.email, "password": "wrong"}
    )


def _page_password_reset(cast: Cast) -> FrenchPage:
    return FrenchPage(french_client(), reverse("password_reset"))


def _page_password_reset_sent(cast: Cast) -> FrenchPage:
    return FrenchPage(french_client(), reverse("password_reset"), "post", {"email": cast.owner.email})


def _page_home(cast: Cast) -> FrenchPage:
    return FrenchPage(french_client(cast.owner), reverse("home"))


def _page_workspace_home(cast: Cast) -> FrenchPage:
    _invite(cast)  # some recent activity
    return FrenchPage(french_client(cast.owner), reverse("workspace_home", args=[cast.workspace.slug]))


def _page_members(cast: Cast) -> FrenchPage:
    _invite(cast)  # a pending invitation
    return FrenchPage(french_client(cast.owner), reverse("members", args=[cast.workspace.slug]))


def _page_members_after_a_role_change(cast: Cast) -> FrenchPage:
    viewer = Membership.objects.get(workspace=cast.workspace, role=Role.VIEWER)
    url = reverse("member_role", args=[cast.workspace.slug, viewer.pk])
    return FrenchPage(french_client(cast.owner), url, "post", {"role": Role.EDITOR})


def _page_members_as_viewer(cast: Cast) -> FrenchPage:
    return FrenchPage(
        french_client(cast.members[Role.VIEWER]), reverse("members", args=[cast.workspace.slug])
    )


def _page_workspace_settings(cast: Cast) -> FrenchPage:
    return FrenchPage(french_client(cast.owner), reverse("workspace_settings", args=[cast.workspace.slug]))


def _page_profile(cast: Cast) -> FrenchPage:
    return FrenchPage(french_client(cast.owner), reverse("profile"))


def _page_api_tokens(cast: Cast) -> FrenchPage:
    ApiToken.issue(cast.owner, "Ancien jeton")
    # The POST response shows the new token once, with its banner.
    return FrenchPage(french_client(cast.owner), reverse("api_tokens"), "post", {"name": "Jeton de test"})


def _page_workspace_create(cast: Cast) -> FrenchPage:
    return FrenchPage(french_client(cast.owner), reverse("workspace_create"))


def _page_workspace_create_with_error(cast: Cast) -> FrenchPage:
    data = {"name": "Sans organisation", "timezone": "Europe/Paris"}
    return FrenchPage(french_client(cast.owner), reverse("workspace_create"), "post", data)


def _page_health(cast: Cast) -> FrenchPage:
    Heartbeat.beat("worker")
    return FrenchPage(french_client(cast.owner, accept="text/html"), reverse("health"))


def _page_invitation_accept(cast: Cast) -> FrenchPage:
    return FrenchPage(french_client(), reverse("accept_invitation", args=[_invite(cast)]))


def _page_invitation_accept_signed_in(cast: Cast) -> FrenchPage:
    raw = _invite(cast, cast.outsider.email)
    return FrenchPage(french_client(cast.outsider), reverse("accept_invitation", args=[raw]))


def _page_invitation_invalid(cast: Cast) -> FrenchPage:
    return FrenchPage(french_client(), reverse("accept_invitation", args=["not-a-token"]))


# --- The web app's screens (issue 5): composer, posts, review, calendar, media, channels,
# campaigns, import, analytics, approvals, audit, short links. Each page gets a little data so
# that its lists and labels are not only the empty state.


def _app_data(cast: Cast) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from chorus.channels.actions import connect_channel
    from chorus.content.models import Campaign
    from chorus.media.actions import upload
    from chorus.publishing import actions as publishing
    from tests.media.conftest import image_bytes

    channel = connect_channel(workspace=cast.workspace, kind="sink", name="Puits", config={}, credentials={})
    campaign = Campaign.objects.create(workspace=cast.workspace, name="Printemps", slug="printemps")
    draft = publishing.create_post(
        workspace=cast.workspace, author=cast.members[Role.EDITOR], channels=[channel], text="Brouillon"
    ).targets.get()
    waiting = publishing.create_post(
        workspace=cast.workspace, author=cast.members[Role.CONTRIBUTOR], channels=[channel], text="À relire"
    ).targets.get()
    publishing.submit_for_review(waiting, actor=cast.members[Role.CONTRIBUTOR])
    planned = publishing.create_post(
        workspace=cast.workspace, author=cast.owner, channels=[channel], text="Fête du port"
    ).targets.get()
    publishing.schedule(planned, actor=cast.owner, when=timezone.now() + dt.timedelta(days=2))
    asset, _created = upload(
        cast.workspace, cast.owner, SimpleUploadedFile("port.png", image_bytes("PNG", (64, 48)))
    )
    return {"channel": channel, "campaign": campaign, "draft": draft, "asset": asset, "planned": planned}


def _ws_page(cast: Cast, name: str, *args: Any, user: User | None = None) -> FrenchPage:
    url = reverse(name, args=[cast.workspace.slug, *args])
    return FrenchPage(french_client(user or cast.owner), url)


def _page_composer_new_post(cast: Cast) -> FrenchPage:
    _app_data(cast)
    return _ws_page(cast, "publishing:post_new")


def _page_composer_with_problems(cast: Cast) -> FrenchPage:
    data = _app_data(cast)
    page = _ws_page(cast, "publishing:post_new")
    page.method, page.data = "post", {"channels": str(data["channel"].pk), "text": "x" * 501, "when": "now"}
    return page


def _page_post_edit(cast: Cast) -> FrenchPage:
    return _ws_page(cast, "publishing:post_edit", _app_data(cast)["draft"].pk)


def _page_posts_list(cast: Cast) -> FrenchPage:
    _app_data(cast)
    return _ws_page(cast, "publishing:targets")


def _page_post_detail(cast: Cast) -> FrenchPage:
    return _ws_page(cast, "publishing:target", _app_data(cast)["planned"].pk)


def _page_review_queue(cast: Cast) -> FrenchPage:
    _app_data(cast)
    return _ws_page(cast, "publishing:review", user=cast.members[Role.APPROVER])


def _page_calendar(cast: Cast) -> FrenchPage:
    _app_data(cast)
    return _ws_page(cast, "planning:calendar")


def _page_media_library(cast: Cast) -> FrenchPage:
    _app_data(cast)
    return _ws_page(cast, "media:library")


def _page_media_detail(cast: Cast) -> FrenchPage:
    return _ws_page(cast, "media:detail", _app_data(cast)["asset"].pk)


def _page_channels(cast: Cast) -> FrenchPage:
    _app_data(cast)
    return _ws_page(cast, "channels:list")


def _page_channel_connect(cast: Cast) -> FrenchPage:
    return _ws_page(cast, "channels:connect", "wordpress")


def _page_campaigns(cast: Cast) -> FrenchPage:
    _app_data(cast)
    return _ws_page(cast, "links:campaigns")


def _page_campaign_detail(cast: Cast) -> FrenchPage:
    return _ws_page(cast, "links:campaign", _app_data(cast)["campaign"].pk)


def _page_campaign_new(cast: Cast) -> FrenchPage:
    return _ws_page(cast, "links:campaign_new")


def _page_import(cast: Cast) -> FrenchPage:
    page = _ws_page(cast, "bulk:import")
    page.machine_text = ("date, channels, text, link, media, campaign, tags", "text:")
    return page


def _page_analytics_dashboard(cast: Cast) -> FrenchPage:
    _app_data(cast)
    return _ws_page(cast, "analytics:dashboard")


def _page_approvals_pending(cast: Cast) -> FrenchPage:
    _app_data(cast)
    return _ws_page(cast, "approvals:pending", user=cast.members[Role.APPROVER])


def _page_approvals_workflows(cast: Cast) -> FrenchPage:
    return _ws_page(cast, "approvals:workflows")


def _page_approvals_workflow_new(cast: Cast) -> FrenchPage:
    return _ws_page(cast, "approvals:workflow_new")


def _page_my_work(cast: Cast) -> FrenchPage:
    _app_data(cast)
    return _ws_page(cast, "approvals:my_work", user=cast.members[Role.EDITOR])


def _page_audit(cast: Cast) -> FrenchPage:
    _app_data(cast)
    return _ws_page(cast, "approvals:audit")


def _network_channels(cast: Cast) -> tuple[Any, Any]:
    """A Bluesky and a Mastodon channel: their validation runs offline, from the channel's config."""
    from chorus.channels.actions import connect_channel

    bluesky = connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name="Ciel",
        config={"handle": "ong.bsky.social", "did": "did:plc:x"},
        credentials={},
    )
    mastodon = connect_channel(
        workspace=cast.workspace,
        kind="mastodon",
        name="Mammouth",
        config={"instance": "https://social.example", "username": "ong", "limits": {"max_characters": 100}},
        credentials={},
    )
    return bluesky, mastodon


def _page_composer_with_network_problems(cast: Cast) -> FrenchPage:
    # The connectors' own validation messages (length, language codes), written when the page
    # is built, in the reader's language.
    bluesky, mastodon = _network_channels(cast)
    page = _ws_page(cast, "publishing:post_new")
    page.method = "post"
    page.data = {
        "channels": [str(bluesky.pk), str(mastodon.pk)],  # type: ignore[dict-item]
        "text": "x" * 301,
        f"c{bluesky.pk}-langs": "en, fr, de, es",
        "when": "now",
    }
    return page


def _page_channel_settings_refused(cast: Cast) -> FrenchPage:
    # Bluesky's AppView setting: labels, help and the refusal of a DID without its service id.
    bluesky, _mastodon = _network_channels(cast)
    page = _ws_page(cast, "channels:settings", bluesky.pk)
    page.method = "post"
    page.data = {"appview": "did:web:appview.example.org", "web_url": ""}
    page.machine_text = ("did:web:api.bsky.app#bsky_appview", "AppView", "at://")
    return page


def _page_approval_with_decisions(cast: Cast) -> FrenchPage:
    from chorus.approvals.models import Decision

    target = _app_data(cast)["draft"]
    for verdict in Decision.Verdict:
        Decision.objects.create(
            workspace=cast.workspace, target=target, actor=cast.owner, verdict=verdict, comment="Bien"
        )
    return _ws_page(cast, "approvals:target", target.pk)


def _page_intake(cast: Cast) -> FrenchPage:
    return _ws_page(cast, "approvals:intake")


def _page_short_links(cast: Cast) -> FrenchPage:
    _app_data(cast)
    return _ws_page(cast, "links:list")


def _page_webhook_log(cast: Cast) -> FrenchPage:
    from chorus.webhooks.models import Attempt, Delivery, Endpoint
    from chorus.webhooks.signing import new_secret, seal

    endpoint = Endpoint.objects.create(
        workspace=cast.workspace,
        url="https://hooks.example.org/in",
        event_types=["post.published"],
        secret_encrypted=seal(new_secret()),
        active=False,
        disabled_reason="failures",
    )
    for status in Delivery.Status:
        delivery = Delivery.objects.create(
            workspace=cast.workspace, endpoint=endpoint, event_id=f"msg_{status}", event_type="post.published",
            body="{}", status=status, attempts=1, next_attempt_at=timezone.now(),
        )  # fmt: skip
        Attempt.objects.create(delivery=delivery, number=1, status_code=500, manual=True)
    return _ws_page(cast, "webhooks:detail", endpoint.pk)


def _page_two_factor_setup(cast: Cast) -> FrenchPage:
    return FrenchPage(french_client(cast.owner), reverse("two_factor"))


def _page_two_factor_recovery_codes(cast: Cast) -> FrenchPage:
    from chorus.accounts import totp

    secret = totp.new_secret()
    actions.enable_two_factor(
        user=cast.owner, secret=secret, code=totp.totp(totp.key_of(secret), time.time())
    )
    return FrenchPage(
        french_client(cast.owner),
        reverse("two_factor"),
        "post",
        {"action": "regenerate", "r-password": PASSWORD},
    )


def _page_two_factor_code_step(cast: Cast) -> FrenchPage:
    from chorus.accounts import totp

    secret = totp.new_secret()
    actions.enable_two_factor(
        user=cast.owner, secret=secret, code=totp.totp(totp.key_of(secret), time.time())
    )
    client = french_client()
    client.post(reverse("login"), {"username": cast.owner.email, "password": PASSWORD})
    return FrenchPage(client, reverse("login_code"), "post", {"code": "000000"})


def _page_organization_security(cast: Cast) -> FrenchPage:
    return _ws_page(cast, "organization_security")


def _page_webhooks(cast: Cast) -> FrenchPage:
    return _ws_page(cast, "webhooks:list")


FRENCH_PAGES: dict[str, Callable[[Cast], FrenchPage]] = {
    name.removeprefix("_page_"): function
    for name, function in list(globals().items())
    if name.startswith("_page_") and callable(function)
}


def _render(page: FrenchPage) -> str:
    if page.method == "post":
        response = page.client.post(page.url, page.data or {}, follow=True)
    else:
        response = page.client.get(page.url, follow=True)
    assert response.status_code in {200, 404, 503}, response.status_code
    return response.content.decode()


@pytest.fixture
def fixture_strings(french_cast: Cast) -> set[str]:
    """Names and addresses from the fixtures: data, not interface text."""
    values = {french_cast.workspace.name, french_cast.other_workspace.name}
    values |= {french_cast.workspace.organization.name, french_cast.other_workspace.organization.name}
    for user in User.objects.all():
        values |= {user.email, user.name}
    return {v for v in values if v}


@pytest.mark.parametrize("page_name", sorted(FRENCH_PAGES))
def test_a_french_page_has_no_english_left(
    page_name: str, french_cast: Cast, fixture_strings: set[str], settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"  # the media pages upload a picture
    page = FRENCH_PAGES[page_name](french_cast)
    html = _render(page)
    assert re.search(r'<html lang="fr"', html), "French is not active on this page"
    text = visible_text(html)
    left = english_left_in(text, fixture_strings | set(page.machine_text))
    assert not left, f"English left on the French {page_name} page: {left}\n\nPage text: {text}"


def test_a_composer_validation_message_is_french(french_cast: Cast) -> None:
    bluesky, mastodon = _network_channels(french_cast)
    client = french_client(french_cast.owner)
    url = reverse("publishing:compose_check", args=[french_cast.workspace.slug])
    payload = {
        "channels": [bluesky.pk, mastodon.pk],
        "text": "x" * 301,
        f"c{bluesky.pk}-langs": "en, fr, de, es",
    }
    html = client.post(url, payload).content.decode()
    text = visible_text(html)
    assert "301 caractères ; cette instance en autorise 100." in text
    assert "301 caractères ; Bluesky en autorise 300 (ou publiez le texte sous forme de fil)." in text
    assert "Indiquez au plus 3 codes de langue" in text
    assert "301 caractères / 300" in text  # the counter, in the plural form
    assert not english_left_in(text, {"Ciel", "Mammouth"})

    english = Client()
    english.force_login(french_cast.owner)
    english_text = visible_text(english.post(url, payload).content.decode(), "en")
    assert "301 characters; this instance allows 100." in english_text


def test_the_audit_page_names_object_types_in_french_and_keeps_the_technical_value(
    french_cast: Cast, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    page = _page_audit(french_cast)
    html = _render(page)
    text = visible_text(html)
    assert "Publication sur un canal" in text  # content.posttarget's verbose_name, in French
    assert "content.posttarget" not in text
    assert '<option value="content.posttarget">Publication sur un canal</option>' in html

    filtered = _render(FrenchPage(page.client, page.url + "?object_type=content.posttarget"))
    assert "Publication sur un canal #" in visible_text(filtered)
    exported = page.client.get(page.url, {"format": "csv", "object_type": "content.posttarget"})
    csv_text = b"".join(exported.streaming_content).decode()  # type: ignore[attr-defined]
    rows = csv_text.splitlines()
    assert rows[0].startswith("time,actor,action,object_type")
    assert len(rows) > 1 and all(",content.posttarget," in row for row in rows[1:])


def test_the_approval_history_uses_french_verbs(french_cast: Cast) -> None:
    text = visible_text(_render(_page_approval_with_decisions(french_cast)))
    owner = User.objects.get(pk=french_cast.owner.pk).display_name
    for verb in ("a approuvé", "a refusé", "a commenté"):
        assert f"{owner} {verb}" in text
    assert f"{owner} approuvée" not in text  # the verdict label, an adjective, read as a verb


def test_the_health_banner_is_french_for_admins(french_cast: Cast) -> None:
    text = visible_text(_render(_page_home(french_cast)))
    assert "Le traitement en arrière-plan est arrêté." in text


def test_a_french_page_shows_dates_and_numbers_in_french(french_cast: Cast) -> None:
    at = dt.datetime(2026, 3, 5, 14, 30, tzinfo=dt.UTC)
    type(french_cast.workspace).objects.filter(pk=french_cast.workspace.pk).update(created_at=at)
    Membership.objects.filter(workspace=french_cast.workspace).update(created_at=at)
    Heartbeat.objects.create(name="worker", beat_at=timezone.now() - dt.timedelta(seconds=300))
    owner = french_cast.owner

    workspace_url = reverse("workspace_home", args=[french_cast.workspace.slug])
    workspace_page = visible_text(_render(FrenchPage(french_client(owner), workspace_url)))
    assert "5 mars 2026 14:30" in workspace_page
    members_url = reverse("members", args=[french_cast.workspace.slug])
    members_page = visible_text(_render(FrenchPage(french_client(owner), members_url)))
    assert "05/03/2026" in members_page
    health_page = visible_text(
        _render(FrenchPage(french_client(owner, accept="text/html"), reverse("health")))
    )
    assert re.search(r"il y a 30\d,\d\s*s", health_page), health_page

    english = Client()
    english.force_login(owner)
    english_page = visible_text(english.get(workspace_url).content.decode(), "en")
    assert "March 5, 2026" in english_page


def test_the_invitation_email_is_french_when_the_inviter_works_in_french(
    french_cast: Cast, mailoutbox: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    client = french_client(french_cast.owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("member_invite", args=[french_cast.workspace.slug]),
            {"email": "nouvelle@example.org", "role": Role.EDITOR},
        )
    (email,) = mailoutbox
    assert email.subject == "Invitation à rejoindre Campaign sur Chorus"
    assert "vous invite à rejoindre l’espace de travail" in email.body
    assert not english_left_in(email.body, {"Campaign", "Alix Martin", "nouvelle@example.org"})


def test_the_check_finds_english_on_an_english_page(french_cast: Cast, fixture_strings: set[str]) -> None:
    # Guards the guard: the same page in English must be full of findings.
    client = Client()
    client.force_login(french_cast.owner)
    html = client.get(reverse("members", args=[french_cast.workspace.slug])).content.decode()
    left = english_left_in(visible_text(html, "en"), fixture_strings)
    assert {
        "Invite someone",
        "Members of %(name)s",
        "Change role",
        "Background processing has stopped.",
    } <= set(left)


# --- Every main screen is found from the navigation -----------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nav_depth = 0
        self.nav: list[str] = []
        self.all: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "nav":
            self.nav_depth += 1
        if tag == "a" and (href := values.get("href")):
            self.all.append(href)
            if self.nav_depth:
                self.nav.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav" and self.nav_depth:
            self.nav_depth -= 1


def _links(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser


def test_it_reaches_every_main_screen_from_the_navigation(
    french_cast: Cast, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    data = _app_data(french_cast)
    slug = french_cast.workspace.slug
    client = french_client(french_cast.owner)
    home = client.get(reverse("workspace_home", args=[slug]))
    assert home.status_code == 200
    nav = [href for href in _links(home.content.decode()).nav if href.startswith(f"/w/{slug}/")]
    assert len(nav) >= 10, nav
    reachable = set(nav)
    for href in nav:  # every navigation link answers, in French
        response = client.get(href)
        assert response.status_code == 200, (href, response.status_code)
        assert '<html lang="fr"' in response.content.decode()
        reachable |= {link.split("?")[0].split("#")[0] for link in _links(response.content.decode()).all}

    main_screens = {
        "composer": reverse("publishing:post_new", args=[slug]),
        "posts": reverse("publishing:targets", args=[slug]),
        "post": reverse("publishing:target", args=[slug, data["planned"].pk]),
        "review queue": reverse("publishing:review", args=[slug]),
        "calendar": reverse("planning:calendar", args=[slug]),
        "media library": reverse("media:library", args=[slug]),
        "media detail": reverse("media:detail", args=[slug, data["asset"].pk]),
        "channels": reverse("channels:list", args=[slug]),
        "connect a channel": reverse("channels:connect", args=[slug, "wordpress"]),
        "campaigns": reverse("links:campaigns", args=[slug]),
        "campaign": reverse("links:campaign", args=[slug, data["campaign"].pk]),
        "import": reverse("bulk:import", args=[slug]),
        "analytics": reverse("analytics:dashboard", args=[slug]),
        "approvals": reverse("approvals:pending", args=[slug]),
        "workflows": reverse("approvals:workflows", args=[slug]),
        "my work": reverse("approvals:my_work", args=[slug]),
        "audit": reverse("approvals:audit", args=[slug]),
        "intake": reverse("approvals:intake", args=[slug]),
        "short links": reverse("links:list", args=[slug]),
        "members": reverse("members", args=[slug]),
        "settings": reverse("workspace_settings", args=[slug]),
    }
    # Within two clicks of the workspace home (a navigation link, then a link on that screen).
    missing = sorted(name for name, url in main_screens.items() if url not in reachable)
    assert not missing, f"Not reachable from the navigation in two clicks: {missing}"
