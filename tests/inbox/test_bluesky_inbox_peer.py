"""The inbox against the real local Bluesky network (PDS + AppView from @atproto/dev-env)."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from chorus.channels.actions import connect_channel
from chorus.channels.models import Channel
from chorus.connectors.bluesky.connector import BlueskyConnector
from chorus.inbox import actions
from chorus.inbox.models import Conversation, Cursor, InboxItem, Reply
from chorus.publishing import actions as publishing
from tests.conftest import Cast
from tests.peers.bluesky import BlueskyNetwork

pytestmark = [pytest.mark.peer, pytest.mark.django_db]


class Account:
    def __init__(self, network: BlueskyNetwork) -> None:
        self.network = network
        self.handle = f"u{secrets.token_hex(5)}{network.handle_domain}"
        self.password = secrets.token_urlsafe(12)
        response = httpx.post(
            f"{network.pds_url}/xrpc/com.atproto.server.createAccount",
            json={"handle": self.handle, "email": f"{self.handle}@example.org", "password": self.password},
            timeout=30,
        )
        response.raise_for_status()
        self.did, self.access = response.json()["did"], response.json()["accessJwt"]

    def write(self, collection: str, record: dict[str, Any]) -> dict[str, str]:
        response = httpx.post(
            f"{self.network.pds_url}/xrpc/com.atproto.repo.createRecord",
            headers={"Authorization": f"Bearer {self.access}"},
            json={"repo": self.did, "collection": collection, "record": record},
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        return {"uri": body["uri"], "cid": body["cid"]}

    def post(self, text: str, **fields: Any) -> dict[str, str]:
        return self.write("app.bsky.feed.post", {"text": text, "createdAt": now(), **fields})

    def notifications(self) -> dict[str, Any]:
        response = httpx.get(
            f"{self.network.pds_url}/xrpc/app.bsky.notification.listNotifications",
            headers={"Authorization": f"Bearer {self.access}"},
            params={"priority": "false"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def want_priority_notifications(self) -> None:
        """What a person does in the Bluesky app ("priority notifications": only from accounts
        they follow), and what the dev-env AppView does by itself at random on a first updateSeen."""
        response = httpx.post(
            f"{self.network.pds_url}/xrpc/app.bsky.notification.putPreferences",
            headers={"Authorization": f"Bearer {self.access}"},
            json={"priority": True},
            timeout=30,
        )
        response.raise_for_status()


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def mention(text: str, account: Account) -> dict[str, Any]:
    at = f"@{account.handle}"
    start = text.encode().index(at.encode())
    return {
        "text": text,
        "facets": [
            {
                "index": {"byteStart": start, "byteEnd": start + len(at.encode())},
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": account.did}],
            }
        ],
    }


@pytest.fixture
def team(bluesky_network: BlueskyNetwork) -> Account:
    return Account(bluesky_network)


@pytest.fixture
def channel(
    cast: Cast, bluesky_network: BlueskyNetwork, team: Account, settings: Any, tmp_path: Path
) -> Channel:
    settings.CHORUS_ALLOW_PRIVATE_URLS = True
    settings.MEDIA_ROOT = str(tmp_path)
    result = BlueskyConnector.begin_connect(
        {
            "handle": team.handle,
            "app_password": team.password,
            "service": bluesky_network.pds_url,
            "appview": bluesky_network.appview_url,
        },
        callback_url="",
        state="",
    )
    return connect_channel(
        workspace=cast.workspace,
        kind="bluesky",
        name=result.name,
        config=result.config,
        credentials=result.credentials,
        actor=cast.owner,
    )


def test_replies_and_mentions_arrive_in_one_poll_and_the_team_answers_once(
    cast: Cast, channel: Channel, team: Account, bluesky_network: BlueskyNetwork
) -> None:
    post = publishing.create_post(
        workspace=cast.workspace, author=cast.members["editor"], channels=[channel], text="Our story #1"
    )
    target = post.targets.get()
    published = channel.connector().publish(target)
    target.external_id = published.external_id
    target.save(update_fields=["external_id"])
    bluesky_network.process_all()
    ours = httpx.get(
        f"{bluesky_network.appview_url}/xrpc/app.bsky.feed.getPosts", params={"uris": published.external_id}
    ).json()["posts"][0]
    ours_ref = {"uri": ours["uri"], "cid": ours["cid"]}

    fan = Account(bluesky_network)
    reply = fan.post("Lovely story, where was it?", reply={"root": ours_ref, "parent": ours_ref})
    elsewhere = fan.post(**mention(f"Read this by @{team.handle}", team))
    fan.write("app.bsky.feed.like", {"subject": ours_ref, "createdAt": now()})
    bluesky_network.process_all()

    assert actions.poll(channel) == 3
    conversations = {c.root_id: c for c in Conversation.objects.filter(channel=channel)}
    assert set(conversations) == {published.external_id, elsewhere["uri"]}
    on_post = conversations[published.external_id]
    assert on_post.target == target and on_post.author_id == fan.did and on_post.unread == 1
    assert InboxItem.objects.get(kind="like").conversation is None
    assert InboxItem.objects.get(network_id=reply["uri"]).kind == "reply"
    assert InboxItem.objects.get(network_id=elsewhere["uri"]).kind == "mention"
    # updateSeen ran after storing: the network now has them as read.
    seen = team.notifications()
    assert seen["seenAt"] and all(n["isRead"] for n in seen["notifications"])
    assert actions.poll(channel) == 0  # a second poll brings nothing twice

    answer = actions.request_reply(
        conversation=on_post, actor=cast.members["editor"], text="In Lyon! Thank you"
    )
    assert actions.send_reply(answer.pk) == "sent"
    # The worker died after the network accepted it and the reply was queued again: it collides.
    Reply.objects.filter(pk=answer.pk).update(status=Reply.Status.QUEUED)
    assert actions.send_reply(answer.pk) == "sent"
    answer.refresh_from_db()
    bluesky_network.process_all()

    thread = channel.connector().inbox_thread(published.external_id)  # type: ignore[attr-defined]
    ours_in_thread = [p for p in thread if p["author"] == team.did and p["uri"] != published.external_id]
    assert [p["uri"] for p in ours_in_thread] == [answer.network_id]
    raw = httpx.get(
        f"{bluesky_network.appview_url}/xrpc/app.bsky.feed.getPostThread", params={"uri": answer.network_id}
    ).json()["thread"]["post"]["record"]["reply"]
    assert raw["root"] == ours_ref
    assert raw["parent"] == {"uri": reply["uri"], "cid": reply["cid"]}
    on_post.refresh_from_db()
    assert on_post.status == "waiting" and on_post.first_response_at is not None


def test_a_poll_killed_mid_sweep_resumes_without_loss_or_duplicates(
    cast: Cast,
    channel: Channel,
    team: Account,
    bluesky_network: BlueskyNetwork,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    team.want_priority_notifications()  # the fan is a stranger: Chorus must list them all the same
    fan = Account(bluesky_network)
    root = fan.post("A thread of our own")
    questions = [
        fan.post(**mention(f"Question {n} for @{team.handle}", team), reply={"root": root, "parent": root})[
            "uri"
        ]
        for n in range(5)
    ]
    bluesky_network.process_all()
    monkeypatch.setattr(BlueskyConnector, "inbox_page_size", 2)

    original, calls = actions.ingest, []

    def ingest_then_die(**kwargs: Any) -> actions.IngestResult:
        result = original(**kwargs)
        calls.append(result.new_items)
        raise SystemExit("worker killed after the first page was stored")

    monkeypatch.setattr(actions, "ingest", ingest_then_die)
    with pytest.raises(SystemExit):
        actions.poll(channel)
    assert calls == [2] and InboxItem.objects.count() == 2
    assert '"next": "' in Cursor.objects.get().value and '"next": ""' not in Cursor.objects.get().value
    monkeypatch.setattr(actions, "ingest", original)

    newer = fan.post(**mention(f"One more for @{team.handle}", team))  # arrives while it was down
    bluesky_network.process_all()
    actions.poll(channel)  # finishes the interrupted sweep
    ids = list(InboxItem.objects.values_list("network_id", flat=True))
    # The resumed sweep: every question stored, none twice.
    assert sorted(ids) == sorted(questions), ([n for n, uri in enumerate(questions) if uri not in ids], ids)
    # A new sweep from the top picks up what arrived meanwhile (sweeps repeat, as the scheduler's).
    # Before Chorus asked for priority=false, this mention was never listed once the AppView had
    # turned "priority notifications" on for the account (3 runs in 8).
    assert actions.poll(channel) == 1
    ids = list(InboxItem.objects.values_list("network_id", flat=True))
    assert len(ids) == len(set(ids)) == 6 and newer["uri"] in ids
    assert actions.poll(channel) == 0
