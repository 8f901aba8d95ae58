"""Listening tasks (queue "listening"): take ids or names, safe to run twice.

* `consume_slice`: the Celery-friendly form of `chorus listen` for the scaled shape: consumes a
  source for a bounded time and returns; the scheduler enqueues it again. The lease on the
  cursor row means two slices of the same source never run at once (the second waits and ends).
* `poll_mastodon_source`: one min_id poll of a hashtag on an instance (every query reading it);
  `poll_mastodon`: the same for each hashtag of one query.
* `poll_x`, `poll_instagram`: one poll of a query on X recent search / Instagram hashtag search
  (only queries that tick those networks: X reads are paid, Instagram hashtags are rationed).
* `fill_followers`: follower counts of the Bluesky authors of recent matches (AppView, cached).
* `check_alerts`, `purge_expired`: alerts of a workspace; retention.
"""

from __future__ import annotations

import threading

from django.tasks import task

from chorus.core.env import env_bool, env_int

SLICE_SECONDS = env_int("CHORUS_LISTEN_SLICE_SECONDS", 50)


@task(queue_name="listening")
def consume_slice(base_url: str, seconds: float = SLICE_SECONDS) -> int:
    from chorus.listening.stream import Consumer

    return Consumer(base_url).run(stop=threading.Event(), max_seconds=seconds)


@task(queue_name="listening")
def poll_mastodon(query_id: int) -> int:
    from chorus.listening import mastodon
    from chorus.listening.models import Query

    query = Query.objects.filter(pk=query_id, active=True).first()
    return 0 if query is None else mastodon.poll(query)


@task(queue_name="listening")
def poll_mastodon_source(instance: str, tag: str) -> int:
    from chorus.listening import mastodon

    return mastodon.poll_source(instance, tag)


@task(queue_name="listening")
def poll_x(query_id: int) -> int:
    from chorus.listening import xsearch
    from chorus.listening.models import Query

    query = Query.objects.filter(pk=query_id, active=True).first()
    return 0 if query is None else xsearch.poll(query)


@task(queue_name="listening")
def poll_instagram(query_id: int) -> int:
    from chorus.listening import ighashtags
    from chorus.listening.models import Query

    query = Query.objects.filter(pk=query_id, active=True).first()
    return 0 if query is None else ighashtags.poll(query)


@task(queue_name="listening")
def fill_followers() -> int:
    from chorus.listening import profiles

    return profiles.fill_bluesky_followers()


@task(queue_name="listening")
def check_alerts(workspace_id: int) -> int:
    from chorus.listening import alerts

    return alerts.check(workspace_id)


@task(queue_name="listening")
def purge_expired() -> int:
    from chorus.listening import actions

    return actions.purge_expired()


def enqueue_due() -> None:
    """Scheduler job: Mastodon, X and Instagram polls, alert checks, and (when CHORUS_LISTEN_IN_TASKS is set, the
    scaled shape) the next firehose slice."""
    from chorus.listening import mastodon
    from chorus.listening.models import Match, Query
    from chorus.listening.stream import configured_url

    # One poll per (instance, hashtag), whatever the number of queries reading it; a source a
    # stream holds is skipped inside the poll (the stream catches up itself).
    for instance, tag in mastodon.sources().values():
        poll_mastodon_source.enqueue(instance, tag)
    for query_id, networks in Query.objects.filter(active=True).values_list("pk", "networks"):
        if "x" in networks:
            poll_x.enqueue(query_id)
        if "instagram" in networks:
            poll_instagram.enqueue(query_id)
    for workspace_id in set(Query.objects.filter(active=True).values_list("workspace_id", flat=True)):
        check_alerts.enqueue(workspace_id)
    if Match.objects.filter(network="bluesky", author_followers__isnull=True).exists():
        fill_followers.enqueue()
    url = configured_url()
    if url and env_bool("CHORUS_LISTEN_IN_TASKS"):
        consume_slice.enqueue(url)
