from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from chorus.accounts.models import User


class Command(BaseCommand):
    help = "Load (or reload) the sample workspace 'Sample: Global campaign' with a year of invented posts and metrics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--posts-per-day", type=int, default=3)
        parser.add_argument(
            "--owner", help="email of an existing user to make owner (default: every superuser)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from chorus.analytics.demo import load_demo

        owner = None
        if options["owner"]:
            owner = User.objects.filter(email__iexact=options["owner"]).first()
            if owner is None:
                self.stderr.write(f"No user {options['owner']}.")
                raise SystemExit(1)
        workspace = load_demo(days=options["days"], posts_per_day=options["posts_per_day"], owner=owner)
        if not workspace.memberships.filter(role="owner").exists():
            self.stdout.write(
                "No admin account yet: run `chorus createadmin`, then `chorus demo` again to see it."
            )
        self.stdout.write(
            f"Loaded sample data into '{workspace.name}' (/w/{workspace.slug}/analytics/). "
            "Every channel, post and number in it is invented."
        )
