"""The small cast every test uses: an owner, one member per role, an outsider in another
workspace, and a client for each (STYLE.md habit 11)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from chorus.accounts.models import Membership, Organization, User, Workspace
from chorus.accounts.permissions import Role

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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


@pytest.fixture
def cast(db) -> Cast:
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
def owner_client(cast: Cast) -> Client:
    return cast.client_for(cast.owner)
