"""The sign-in backend: Django's, with the user loaded for a request also telling whether an
organization of theirs requires two-factor sign-in (an EXISTS in the same query), so the
two-factor middleware costs no query of its own."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, OuterRef

from chorus.accounts.models import Membership, User


class ChorusBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:  # type: ignore[override]
        required = Membership.objects.filter(
            user=OuterRef("pk"), workspace__organization__require_two_factor=True
        )
        user = User.objects.annotate(two_factor_required=Exists(required)).filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
