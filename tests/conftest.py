"""The small cast every test uses: an owner, one member per role, an outsider in another
workspace, and a client for each (STYLE.md habit 11)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import translation

from chorus.accounts.models import Membership, Organization, User, Workspace
from chorus.accounts.permissions import Role
from tests.peers.bluesky import bluesky_network  # noqa: F401  (one per process: tests/peers/conftest.py)

PASSWORD = "correct horse battery staple"
_DJANGO_DB_ARGS = ("transaction", "reset_sequences", "databases", "serialized_rollback", "available_apps")


# What differs between the two shapes (SQLite + db worker, PostgreSQL + Celery): the scaled run of
# `make test` (Makefile test-scaled) runs only these, marked `shapes` here, plus the `peer` tests
# under PEER_SHAPE_PATHS (publishing through the engine to a real network, the cluster, the
# listener's failover). A connector's own peer tests (its requests do not depend on the database
# or the task engine) run once, in the default shape.
# The engine and its claims, the task engines, quotas (row locks) and the quotas migration,
# select_for_update callers (channels, rollups), database-specific SQL (links' lookup and click
# insert, media search, audit's executemany, the health check). Everything else is plain ORM and
# views, identical on both, run once.
SHAPE_PATHS = (
    "tests/engine/",
    "tests/publishing/test_engine.py",
    "tests/quotas/",
    "tests/channels/",
    "tests/analytics/test_rollup.py",
    "tests/links/",
    "tests/media/",
    "tests/test_audit_ip.py",
    "tests/test_health.py",
)
PEER_SHAPE_PATHS = (
    "tests/peers/",
    "tests/test_cluster.py",
    "tests/listening/test_listener_failover_peer.py",
)


def pytest_collection_modifyitems(items):
    """Every database test may reach the sink's own database (tests/sink/router.py): anything
    that publishes writes there. The test keeps its other `django_db` options. Tests of what
    differs between shapes get the `shapes` marker (SHAPE_PATHS, PEER_SHAPE_PATHS)."""
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if (
            path.startswith(SHAPE_PATHS)
            or (item.get_closest_marker("peer") and path.startswith(PEER_SHAPE_PATHS))
            or item.get_closest_marker("scaled_only")
        ):
            item.add_marker(pytest.mark.shapes)
        marker = item.get_closest_marker("django_db")
        if marker is None and "_django_db_helper" not in item.fixturenames:
            continue
        options = dict(zip(_DJANGO_DB_ARGS, marker.args, strict=False)) if marker else {}
        options.update(marker.kwargs if marker else {})
        if options.get("databases") is None:
            item.add_marker(pytest.mark.django_db(**{**options, "databases": "__all__"}), append=False)


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language():
    """LocaleMiddleware activates the request's language and never deactivates it: after a test
    that requests a French page, messages built later in the same worker (connector validation,
    error reasons) would come out in French. Each test starts from the site's default language."""
    translation.deactivate()
    yield
    translation.deactivate()


def make_user(email: str, **extra) -> User:
    return User.objects.create_user(email=email, password=PASSWORD, **extra)


@dataclass
class Cast:
    workspace: Workspace
    other_workspace: Workspace
    members: dict[str, User]  # role -> user
    outsider: User  # owner of other_workspace, no membership in workspace

    def client_for(self, user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    @property
    def owner(self) -> User:
        return self.members[Role.OWNER]


def make_cast() -> Cast:
    """The cast's rows (the `cast` fixture; tests/test_tenancy_walk.py builds it once per module)."""
    org = Organization.objects.create(name="Reference NGO", slug="reference-ngo")
    other_org = Organization.objects.create(name="Other NGO", slug="other-ngo")
    workspace = Workspace.objects.create(
        organization=org, name="Campaign", slug="campaign", timezone="Europe/Paris"
    )
    other = Workspace.objects.create(organization=other_org, name="Elsewhere", slug="elsewhere")
    members = {}
    for role in Role:
        user = make_user(f"{role.value}@example.org", name=role.label)
        Membership.objects.create(workspace=workspace, user=user, role=role)
        members[role.value] = user
    outsider = make_user("outsider@example.org", name="Outsider")
    Membership.objects.create(workspace=other, user=outsider, role=Role.OWNER)
    return Cast(workspace=workspace, other_workspace=other, members=members, outsider=outsider)


@pytest.fixture
def cast(db) -> Cast:
    return make_cast()


@pytest.fixture
def owner_client(cast: Cast) -> Client:
    return cast.client_for(cast.owner)
