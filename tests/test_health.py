"""/health for monitors and staff, and the banner admins see when background work has stopped."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from chorus.accounts.permissions import Role
from chorus.core import health
from chorus.core.models import Heartbeat
from tests.conftest import Cast, make_user

BANNER = 'id="health-banner"'


def _beat_all() -> None:
    for role in health.ROLES:
        Heartbeat.beat(role)


def _age(role: str, seconds: float) -> None:
    Heartbeat.objects.filter(name=role).update(beat_at=timezone.now() - dt.timedelta(seconds=seconds))


@pytest.fixture
def no_due_probes(monkeypatch):
    monkeypatch.setattr(health, "_oldest_due_probes", [])
    monkeypatch.setattr(health, "_claimed_probes", [])


@pytest.mark.django_db
def test_it_answers_200_with_every_part_green_after_beats(client, no_due_probes):
    _beat_all()

    response = client.get("/health")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    body = response.json()
    assert body["ok"] is True
    assert body["database"] == "ok"
    assert set(body["heartbeats"]) == {"worker", "scheduler"}
    for beat in body["heartbeats"].values():
        assert beat["ok"] is True
        assert 0 <= beat["age_seconds"] < 5
    assert body["stale_after_seconds"] == 120
    assert body["oldest_due"] is None
    assert body["claimed_unstarted"] == {"count": 0, "oldest_age_seconds": None}


@pytest.mark.django_db
def test_it_lists_each_process_and_keeps_the_role_healthy_while_one_of_two_beats(client, no_due_probes):
    Heartbeat.beat("worker", process="w1:10")
    Heartbeat.beat("scheduler", process="s1:20")
    Heartbeat.beat("scheduler", process="s2:30")
    Heartbeat.objects.filter(name="scheduler@s2:30").update(
        beat_at=timezone.now() - dt.timedelta(seconds=200)
    )

    response = client.get("/health")

    assert response.status_code == 200
    scheduler = response.json()["heartbeats"]["scheduler"]
    assert scheduler["ok"] is True
    assert scheduler["age_seconds"] < 5
    by_process = {p["process"]: p for p in scheduler["processes"]}
    assert set(by_process) == {"s1:20", "s2:30"}
    assert by_process["s1:20"]["ok"] is True
    assert by_process["s2:30"]["ok"] is False
    assert by_process["s2:30"]["age_seconds"] >= 200
    assert [p["process"] for p in response.json()["heartbeats"]["worker"]["processes"]] == ["w1:10"]


@pytest.mark.django_db
def test_it_drops_processes_past_the_expiry_and_the_scheduler_prunes_them(client, settings, no_due_probes):
    from chorus.core import scheduler

    settings.CHORUS_HEARTBEAT_EXPIRE_SECONDS = 600
    _beat_all()
    Heartbeat.beat("worker", process="gone:1")
    Heartbeat.objects.filter(name="worker@gone:1").update(beat_at=timezone.now() - dt.timedelta(seconds=601))

    body = client.get("/health").json()
    assert [p["process"] for p in body["heartbeats"]["worker"]["processes"]] == [""]

    scheduler._prune_heartbeats()
    assert not Heartbeat.objects.filter(name="worker@gone:1").exists()
    assert Heartbeat.objects.filter(name="worker").exists()  # a role-wide beat is not a process


@pytest.mark.django_db
def test_it_counts_targets_claimed_but_not_started(client, no_due_probes):
    _beat_all()
    claimed = timezone.now() - dt.timedelta(seconds=90)
    health.register_claimed_probe(lambda: (3, claimed))
    health.register_claimed_probe(lambda: (0, None))

    body = client.get("/health").json()

    assert body["claimed_unstarted"]["count"] == 3
    assert 90 <= body["claimed_unstarted"]["oldest_age_seconds"] < 100


@pytest.mark.django_db
def test_it_answers_503_when_a_heartbeat_is_missing(client, no_due_probes):
    Heartbeat.beat("scheduler")

    response = client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert body["heartbeats"]["worker"] == {"age_seconds": None, "ok": False, "processes": []}
    assert body["heartbeats"]["scheduler"]["ok"] is True


@pytest.mark.django_db
def test_it_answers_503_when_a_heartbeat_is_stale(client, no_due_probes):
    _beat_all()
    _age("scheduler", 121)

    response = client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["heartbeats"]["scheduler"]["ok"] is False
    assert body["heartbeats"]["scheduler"]["age_seconds"] >= 121
    assert body["heartbeats"]["worker"]["ok"] is True


@pytest.mark.django_db
def test_it_follows_the_configured_staleness_limit(client, settings, no_due_probes):
    settings.CHORUS_HEARTBEAT_STALE_SECONDS = 3
    _beat_all()
    _age("worker", 4)

    body = client.get("/health").json()

    assert body["stale_after_seconds"] == 3
    assert body["heartbeats"]["worker"]["ok"] is False


@pytest.mark.django_db
def test_it_reports_the_oldest_due_item_from_registered_probes(client, no_due_probes):
    _beat_all()
    oldest = timezone.now() - dt.timedelta(minutes=5)
    health.register_oldest_due_probe(lambda: oldest + dt.timedelta(minutes=2))
    health.register_oldest_due_probe(lambda: oldest)
    health.register_oldest_due_probe(lambda: None)  # an app with nothing due

    body = client.get("/health").json()

    assert body["oldest_due"]["at"] == oldest.isoformat()
    assert 299 <= body["oldest_due"]["late_seconds"] < 310


@pytest.mark.django_db
def test_it_shows_staff_a_readable_page(client, no_due_probes):
    Heartbeat.beat("scheduler")
    client.force_login(make_user("staff@example.org", is_staff=True))

    response = client.get("/health", headers={"Accept": "text/html"})

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert 'id="health"' in html
    assert "never seen" in html  # the worker
    # ?format=json still gives monitors JSON, signed in or not.
    assert client.get("/health?format=json", headers={"Accept": "text/html"}).json()["ok"] is False


@pytest.mark.django_db
def test_it_gives_json_to_a_signed_in_non_staff_user(cast: Cast, no_due_probes):
    _beat_all()

    response = cast.client_for(cast.owner).get("/health", headers={"Accept": "text/html"})

    assert response["Content-Type"] == "application/json"
    assert response.json()["ok"] is True


def _pages(cast: Cast) -> list[str]:
    slug = cast.workspace.slug
    return [
        reverse("home"),
        reverse("profile"),
        reverse("api_tokens"),
        reverse("workspace_home", args=[slug]),
        reverse("members", args=[slug]),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_it_shows_workspace_managers_the_banner_on_every_page_while_the_worker_is_stale(
    cast: Cast, role: Role
):
    _beat_all()
    _age("worker", 121)
    client = cast.client_for(cast.members[role])

    for url in [*_pages(cast), reverse("workspace_settings", args=[cast.workspace.slug])]:
        html = client.get(url).content.decode()
        assert BANNER in html, url
        assert "The task worker has not reported" in html
        assert "The scheduler has not reported" not in html


@pytest.mark.django_db
def test_it_shows_staff_the_banner_without_any_membership(client):
    _beat_all()
    _age("worker", 121)
    client.force_login(make_user("staff@example.org", is_staff=True))

    assert BANNER in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.CONTRIBUTOR, Role.APPROVER])
def test_it_hides_the_banner_from_members_who_cannot_act_on_it(cast: Cast, role: Role):
    _beat_all()
    _age("worker", 121)
    client = cast.client_for(cast.members[role])

    for url in _pages(cast):
        response = client.get(url)
        assert response.status_code == 200
        assert BANNER not in response.content.decode(), url


@pytest.mark.django_db
def test_it_hides_the_banner_from_anonymous_visitors(client):
    _beat_all()
    _age("worker", 121)

    assert BANNER not in client.get(reverse("login")).content.decode()


@pytest.mark.django_db
def test_it_removes_the_banner_when_the_worker_beats_again(cast: Cast):
    _beat_all()
    _age("worker", 121)
    client = cast.client_for(cast.owner)
    assert BANNER in client.get(reverse("home")).content.decode()

    Heartbeat.beat("worker")

    assert BANNER not in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_it_keeps_the_banner_off_just_under_the_limit(cast: Cast):
    _beat_all()
    _age("worker", 110)

    assert BANNER not in cast.client_for(cast.owner).get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_it_shows_staff_each_process_and_the_claimed_work(client, no_due_probes):
    Heartbeat.beat("worker", process="w1:10")
    Heartbeat.beat("scheduler", process="s1:20")
    Heartbeat.beat("scheduler", process="s2:30")
    Heartbeat.objects.filter(name="scheduler@s2:30").update(
        beat_at=timezone.now() - dt.timedelta(seconds=200)
    )
    health.register_claimed_probe(lambda: (2, timezone.now() - dt.timedelta(seconds=40)))
    client.force_login(make_user("staff@example.org", is_staff=True))

    html = client.get("/health", headers={"Accept": "text/html"}).content.decode()

    assert '<tr class="process"><td>s1:20</td>' in html
    assert '<tr class="process"><td>s2:30</td>' in html
    assert "stale: last seen 2" in html  # s2:30, 200 s ago
    assert "2 targets, oldest claimed 4" in html


def test_it_answers_a_plain_http_probe_while_https_redirects_everything_else(client, settings, no_due_probes):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/health").status_code in (200, 503)  # answered, not redirected
    assert client.get("/accounts/login/").status_code == 301


@pytest.mark.django_db
def test_it_lists_listeners_once_seen_without_requiring_one(client, no_due_probes):
    _beat_all()
    Heartbeat.beat("listener", process="l1:40")
    Heartbeat.beat("listener", process="l2:50")
    Heartbeat.objects.filter(name="listener@l2:50").update(beat_at=timezone.now() - dt.timedelta(seconds=300))

    body = client.get("/health").json()

    assert body["ok"] is True  # a dead standby does not turn /health red
    listener = body["heartbeats"]["listener"]
    assert listener["required"] is False and listener["ok"] is True
    by_process = {p["process"]: p["ok"] for p in listener["processes"]}
    assert by_process == {"l1:40": True, "l2:50": False}  # the dead one shows
