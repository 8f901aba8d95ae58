"""The main navigation (issue 16, "one look"): grouped, the current page marked, one "New post"
link, admin pages only for those who may open them."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from chorus.core.templatetags.nav_tags import current_entry
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def _nav(html: str) -> str:
    match = re.search(r'<nav aria-label="Main" class="mainnav">(.*?)</nav>', html, re.S)
    assert match, "no main navigation"
    return match.group(1)


def test_the_navigation_is_grouped_and_marks_the_current_page(cast: Cast) -> None:
    client = cast.client_for(cast.owner)
    html = client.get(reverse("publishing:targets", args=[cast.workspace.slug])).content.decode()
    nav = _nav(html)
    groups = re.findall(r'data-nav-group="(\w+)"', nav)
    assert groups == ["plan", "engage", "grow", "manage"]
    assert re.findall(r"<summary>([^<]+)", nav) == ["Plan", "Engage", "Grow", "Manage"]
    current = re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)<', nav)
    assert current == ["Posts"]
    assert 'class="nav-group nav-group-current" data-nav-group="plan"' in nav
    assert html.count('data-testid="new-post"') == 1
    hrefs = re.findall(r'href="([^"]+)"', nav)
    assert len(hrefs) == len(set(hrefs)), "a link twice in the navigation"
    assert 'aria-controls="topbar-menu" data-nav-toggle>Menu<' in html

    # A detail page marks its list; the home marks the workspace.
    home = _nav(client.get(reverse("workspace_home", args=[cast.workspace.slug])).content.decode())
    assert re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)<', home) == [cast.workspace.name]
    calendar = _nav(client.get(reverse("planning:calendar", args=[cast.workspace.slug])).content.decode())
    assert re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)<', calendar) == ["Calendar"]


def test_current_entry_maps_every_screen_to_its_link() -> None:
    assert current_entry("publishing:target") == "posts"
    assert current_entry("publishing:review") == "review"
    assert current_entry("publishing:post_new") == ""
    assert current_entry("links:campaign") == "campaigns"
    assert current_entry("links:list") == "links"
    assert current_entry("approvals:audit") == "audit"
    assert current_entry("approvals:my_work") == "approvals"
    assert current_entry("unknown") == ""


def test_admin_links_only_for_those_who_may_open_them(cast: Cast) -> None:
    url = reverse("workspace_home", args=[cast.workspace.slug])
    owner = _nav(cast.client_for(cast.owner).get(url).content.decode())
    for name in ("webhooks:list", "approvals:audit", "workspace_settings"):
        assert f'href="{reverse(name, args=[cast.workspace.slug])}"' in owner
    assert f'href="{reverse("health")}"' not in owner  # the health page is for site staff
    cast.owner.is_staff = True
    cast.owner.save()
    staff = _nav(cast.client_for(cast.owner).get(url).content.decode())
    assert f'href="{reverse("health")}"' in staff

    viewer = cast.client_for(cast.members["viewer"]).get(url).content.decode()
    assert f'href="{reverse("workspace_settings", args=[cast.workspace.slug])}"' not in _nav(viewer)
    assert 'data-testid="new-post"' not in viewer
