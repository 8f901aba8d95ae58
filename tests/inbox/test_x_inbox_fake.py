"""X mentions in the inbox against a fake of the X API v2 (payloads in tests/connectors/x/fixtures,
shaped after GET /2/users/:id/mentions and POST /2/tweets in docs.x.com): the exact requests of a
sweep and a reply, each post read recorded at $0.005, and the workspace's monthly read budget
stopping the poll before a page that could pass it."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from chorus.channels.models import Channel
from chorus.core.models import AuditEvent
from chorus.inbox import actions
from chorus.inbox.models import Conversation, Cursor, InboxItem, InboxSettings, Reply
from chorus.quotas.models import QuotaUsage
from tests.conftest import Cast
from tests.connectors.oauth_fakes import Fake, fake, fixture, oauth_apps  # noqa: F401  (fixtures)
from tests.connectors.x.conftest import x_channel  # noqa: F401  (fixture)
from tests.inbox.conftest import run_enqueued_sends

pytestmark = pytest.mark.django_db

API = "https://api.x.com"
MENTIONS = f"{API}/2/users/2244994945/mentions"
TWEETS = f"{API}/2/tweets"


def ok(name: str) -> httpx.Response:
    return httpx.Response(200, json=fixture("x", name))


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


FIELDS = {
    "max_results": "100",
    "tweet.fields": "created_at,conversation_id,author_id,referenced_tweets",
    "expansions": "author_id",
    "user.fields": "username,name",
}


def test_a_sweep_pages_down_then_resumes_above_its_top_and_a_reply_is_one_post(
    cast: Cast,
    fake: Fake,  # noqa: F811
    x_channel: Channel,  # noqa: F811
    django_capture_on_commit_callbacks,
) -> None:
    fake.on("GET", MENTIONS, ok("mentions_page1"), ok("mentions_page2"), ok("mentions_empty"))
    assert actions.poll(x_channel) == 3
    assert actions.poll(x_channel) == 0
    sent = fake.to("GET", MENTIONS)
    assert [params(r) for r in sent] == [
        FIELDS,
        {**FIELDS, "pagination_token": "7140dibdnow9c7btw3z2vhjh2hc4yfgh4gvcoe2pu2dpf"},
        {**FIELDS, "since_id": "1866000000000000003"},  # the newest of the first sweep
    ]
    assert all(r.headers["Authorization"] == "Bearer x-access-1" for r in sent)
    # Every post read is billed: 2 + 1 + 0, recorded in the ledger and shown as dollars.
    assert sorted(QuotaUsage.objects.filter(channel=x_channel, bucket="x-post-reads").values_list("amount", flat=True)) == [1, 2]  # fmt: skip
    assert actions.read_spend(cast.workspace, "x-post-reads", Decimal("0.005")) == Decimal("0.015")

    # The two replies of @fan to our post are one conversation; @ally's mention is another.
    fan = Conversation.objects.get(author_id="1600000000000000001")
    assert (fan.root_id, fan.items_count) == ("1865000000000000000", 2)
    assert Conversation.objects.get(author_id="1600000000000000002").items_count == 1
    item = InboxItem.objects.get(network_id="1866000000000000003")
    assert (item.kind, item.parent_id, item.url) == (
        "reply",
        "1865000000000000000",
        "https://x.com/fan/status/1866000000000000003",
    )

    fake.on("POST", TWEETS, ok("create_reply"))
    with django_capture_on_commit_callbacks(execute=True):
        actions.request_reply(
            conversation=fan, actor=cast.members["editor"], text="At noon, Place de la République"
        )
    assert run_enqueued_sends() == ["sent"]
    [post] = fake.to("POST", TWEETS)
    assert fake.body(post) == {
        "text": "At noon, Place de la République",
        "reply": {"in_reply_to_tweet_id": "1866000000000000003"},  # the newest item of the thread
    }
    reply = Reply.objects.get()
    assert (reply.status, reply.network_id) == ("sent", "1445880548472328193")
    assert reply.url == "https://x.com/chorusteam/status/1445880548472328193"


def test_the_monthly_read_budget_stops_the_poll_before_a_page_that_could_pass_it(
    cast: Cast,
    fake: Fake,  # noqa: F811
    x_channel: Channel,  # noqa: F811
) -> None:
    # A page returns at most 100 posts: $0.50. With $0.50 a month, the first page is read
    # ($0.01 spent: 2 posts), the next could bring the month to $0.51, so it is not asked for.
    InboxSettings.objects.create(workspace=cast.workspace, read_budget_usd=Decimal("0.50"))
    fake.on("GET", MENTIONS, ok("mentions_page1"), ok("mentions_page2"))
    assert actions.poll(x_channel) == 2
    assert actions.poll(x_channel) == 0
    assert len(fake.to("GET", MENTIONS)) == 1
    assert actions.read_spend(cast.workspace, "x-post-reads", Decimal("0.005")) == Decimal("0.010")
    stopped = AuditEvent.objects.filter(action="inbox.read_budget_reached")
    assert stopped.count() == 1  # once per channel and month, not every minute
    assert stopped.get().data["budget"] == "0.50"
    # The cursor waits on the next page: a raised budget resumes there, nothing skipped.
    assert "7140dibdnow9c7btw3z2vhjh2hc4yfgh4gvcoe2pu2dpf" in Cursor.objects.get(channel=x_channel).value
    InboxSettings.objects.filter(workspace=cast.workspace).update(read_budget_usd=Decimal("1.00"))
    assert actions.poll(x_channel) == 1
    assert (
        params(fake.to("GET", MENTIONS)[1])["pagination_token"]
        == "7140dibdnow9c7btw3z2vhjh2hc4yfgh4gvcoe2pu2dpf"
    )


def test_a_workspace_without_a_read_budget_reads_nothing_from_x(
    cast: Cast,
    fake: Fake,  # noqa: F811
    x_channel: Channel,  # noqa: F811
) -> None:
    InboxSettings.objects.create(workspace=cast.workspace, read_budget_usd=Decimal("0"))
    fake.on("GET", MENTIONS, ok("mentions_page1"))
    assert actions.poll(x_channel) == 0
    assert fake.sent == []


def test_the_settings_page_shows_the_months_spend_and_sets_the_budget(
    cast: Cast,
    fake: Fake,  # noqa: F811
    x_channel: Channel,  # noqa: F811
) -> None:
    from django.urls import reverse

    fake.on("GET", MENTIONS, ok("mentions_page1"), ok("mentions_page2"))
    actions.poll(x_channel)  # 3 posts read: $0.015
    url = reverse("inbox:settings", args=[cast.workspace.slug])
    editor = cast.client_for(cast.members["editor"])
    page = editor.get(url).content.decode()
    assert "X: 0.02 USD spent this month (0.005 USD per item read)" in page
    editor.post(url, {"read_budget_usd": "12.5"})
    assert actions.read_budget(cast.workspace) == Decimal("12.50")
    assert AuditEvent.objects.filter(action="inbox.read_budget_set").count() == 1
    editor.post(url, {"read_budget_usd": "-1"})
    editor.post(url, {"read_budget_usd": "lots"})
    cast.client_for(cast.members["viewer"]).post(url, {"read_budget_usd": "0"})
    assert actions.read_budget(cast.workspace) == Decimal("12.50")
    from chorus.accounts.models import User

    User.objects.filter(pk=cast.owner.pk).update(language="fr")
    french = cast.client_for(cast.owner).get(url).content.decode()
    assert "X : 0,02 USD dépensés ce mois-ci (0,005 USD par élément lu)" in french
