"""One way to change a post (issue #13): every PostTarget status change goes through
chorus.publishing.actions and its transition table; approvals is a policy it asks, with no
import cycle; and the writes that used to skip actions are audited and checked."""

from __future__ import annotations

import ast
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from chorus.accounts.models import ApiToken
from chorus.approvals import actions as approvals
from chorus.approvals.models import Step, Workflow
from chorus.bulk import actions as bulk
from chorus.channels import actions as channel_actions
from chorus.channels.models import Channel
from chorus.content.models import Post, PostTarget, Recurrence
from chorus.core.models import AuditEvent
from chorus.links import actions as links
from chorus.links.models import ShortLink
from chorus.publishing import actions, dispatch, recurrence
from tests.conftest import Cast
from tests.publishing.conftest import make_target

S = PostTarget.Status
SRC = Path(__file__).resolve().parents[2] / "src" / "chorus"
ACTIONS = SRC / "publishing" / "actions.py"


# --- the source: nothing outside actions writes a status --------------------------------------


def _root_name(node: ast.AST) -> str | None:
    """The name a call or attribute chain starts from: PostTarget.objects.filter(...) → PostTarget."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _chain_mentions(node: ast.AST, word: str) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == word for n in ast.walk(node))


OTHER_MODELS = {
    "Channel",
    "ImportJob",
    "Story",
    "Run",
    "ReviewLink",
    "Invitation",
    "DigestSubscription",
    "Boost",
    "Experiment",
    "Conversation",  # inbox
    "Reply",
    "Delivery",  # webhooks
}


def status_writes(tree: ast.AST) -> list[tuple[int, str]]:
    """PostTarget status writes in a module: `<row>.status = ...` in a module that uses
    PostTarget (a module that handles targets leaves their status to actions),
    `.update(status=...)` on any query but another model's (a related manager such as
    `post.targets` counts), and `PostTarget.objects.bulk_update(..., ["status", ...])`."""
    found: list[tuple[int, str]] = []
    uses_targets = any(isinstance(n, ast.Name) and n.id == "PostTarget" for n in ast.walk(tree)) or any(
        isinstance(n, ast.alias) and n.name == "PostTarget" for n in ast.walk(tree)
    )
    for node in ast.walk(tree):
        if uses_targets and isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            targets = [e for t in targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
            for target in targets:
                if (
                    any(isinstance(p, ast.Attribute) and p.attr == "status" for p in ast.walk(target))
                    and (_root_name(target) or "").title() not in OTHER_MODELS
                ):
                    found.append((node.lineno, ast.unparse(target)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, root = node.func.attr, _root_name(node.func.value)
            query = any(  # a query (or a related manager), not a dict's update()
                isinstance(n, ast.Attribute) and n.attr in {"objects", "targets", "filter", "exclude"}
                for n in ast.walk(node.func.value)
            )
            writes_status = any(k.arg == "status" for k in node.keywords)
            if method == "update" and query and writes_status and root not in OTHER_MODELS:
                found.append((node.lineno, ast.unparse(node)[:80]))
            if method == "bulk_update" and root == "PostTarget":
                specs = node.args[1:2] + [k.value for k in node.keywords if k.arg == "fields"]
                if any("status" in ast.unparse(spec) for spec in specs):
                    found.append((node.lineno, ast.unparse(node)[:80]))
    return found


def test_the_scanner_finds_each_kind_of_status_write():
    """The scanner itself: each way of writing a status that it must catch."""
    sample = ast.parse(
        "from chorus.content.models import PostTarget\n"
        "target.status = S.SCHEDULED\n"
        "PostTarget.objects.filter(pk=1).update(status='published')\n"
        "post.targets.update(status='draft')\n"
        "PostTarget.objects.bulk_update(rows, ['status', 'text'])\n"
        "Channel.objects.filter(pk=1).update(status='paused')\n"  # another model: fine
        "ImportJob.objects.filter(pk=1).update(status='done')\n"
        "payload.update(status='future')\n"  # a dict: fine
        "conversation.status, target.status = 'closed', S.FAILED\n"  # the second is a target
    )
    assert sorted(line for line, _text in status_writes(sample)) == [2, 3, 4, 5, 9]


def test_no_module_outside_publishing_actions_writes_a_target_status():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts or path == ACTIONS:
            continue
        for line, text in status_writes(ast.parse(path.read_text(), str(path))):
            offenders.append(f"{path.relative_to(SRC)}:{line}: {text}")
    assert offenders == [], "\n".join(offenders)


def test_the_transition_table_is_the_state_machine_of_the_design():
    """DESIGN.md: draft → in_review → approved → scheduled → publishing → published | failed |
    unknown; unknown → published | failed by reconciliation; plus the documented moves back."""
    allowed = actions.allowed_next()
    assert allowed[actions.NEW] == {S.DRAFT, S.IN_REVIEW, S.APPROVED, S.SCHEDULED}
    assert allowed[S.DRAFT] == {S.DRAFT, S.IN_REVIEW, S.SCHEDULED}  # scheduled: self-approval
    assert allowed[S.IN_REVIEW] == {S.IN_REVIEW, S.APPROVED, S.DRAFT, S.SCHEDULED}
    assert allowed[S.APPROVED] == {S.APPROVED, S.SCHEDULED, S.IN_REVIEW}
    assert allowed[S.SCHEDULED] == {S.SCHEDULED, S.PUBLISHING, S.APPROVED, S.IN_REVIEW}
    assert allowed[S.PUBLISHING] == {S.PUBLISHING, S.PUBLISHED, S.FAILED, S.UNKNOWN, S.SCHEDULED}
    assert allowed[S.UNKNOWN] == {S.PUBLISHED, S.FAILED, S.SCHEDULED}
    # a person's fixes from the home: retry or reschedule, edit (back to draft), or say it is
    # on the network (posted by hand); for unknown, a person's "published" or "not there"
    assert allowed[S.FAILED] == {S.SCHEDULED, S.DRAFT, S.PUBLISHED}
    assert S.PUBLISHED not in allowed  # published is final


def test_a_move_the_table_does_not_allow_is_refused_before_touching_the_row(cast, sink_channel):
    target = make_target(cast, sink_channel)
    with pytest.raises(AssertionError, match="not allowed by TRANSITIONS"):
        actions._move(target, action="published", expected=[S.DRAFT])
    assert PostTarget.objects.get(pk=target.pk).status == S.DRAFT


# --- approvals is a policy: no cycle ----------------------------------------------------------


def test_importing_approvals_and_its_policy_does_not_import_publishing_actions():
    code = (
        "import os, sys\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tests.settings')\n"
        "import django\n"
        "django.setup()\n"
        "import chorus.approvals, chorus.approvals.policy, chorus.approvals.models\n"
        "import chorus.approvals.boosts\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('chorus.publishing'))\n"
        "print(' '.join(loaded))\n"
        "sys.exit(1 if 'chorus.publishing.actions' in sys.modules else 0)\n"
    )
    root = SRC.parents[1]
    env = {"PYTHONPATH": f"{root / 'src'}:{root}", "PATH": "/usr/bin:/bin", "HOME": str(root)}
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("module", ["policy.py", "boosts.py"])
def test_the_policy_modules_never_import_what_moves(module):
    """The policies (posts and boosts) import neither publishing nor the ads app: the boosts'
    policy reads what it shows from the boost's own methods, and chorus.ads.actions moves it."""
    tree = ast.parse((SRC / "approvals" / module).read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    assert not [m for m in imported if m and m.startswith(("chorus.publishing", "chorus.ads"))]


# --- the bugs of #13 ---------------------------------------------------------------------------


def _recurrence(cast: Cast, template: PostTarget) -> Recurrence:
    return Recurrence.objects.create(
        workspace=cast.workspace,
        template=template,
        rrule="FREQ=DAILY",
        timezone="UTC",
        starts_local=Recurrence.wall(dt.datetime(2026, 5, 1, 9, 0)),
    )


def test_a_recurring_unapproved_draft_is_not_published(cast, sink_channel):
    template = make_target(cast, sink_channel, text="Not approved yet")
    rec = _recurrence(cast, template)
    now = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    assert recurrence.generate(rec, now=now) == []
    assert not PostTarget.objects.filter(recurrence=rec).exists()
    assert dispatch.dispatch_due(now + dt.timedelta(days=8)) == 0  # nothing to claim, ever
    # Once approved, the next run repeats it.
    actions.submit_for_review(template, actor=cast.members["editor"])
    actions.approve(template, actor=cast.members["approver"])
    rec.last_generated_local = None
    created = recurrence.generate(rec, now=now)
    assert len(created) == 7 and {t.status for t in created} == {S.SCHEDULED}
    assert AuditEvent.objects.filter(action="target.scheduled", object_id=str(created[0].pk)).exists()


def test_a_recurring_post_of_a_workflow_still_in_review_is_not_published(cast, sink_channel):
    approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Desk",
        applies_to=Workflow.AppliesTo.EVERYONE,
        steps=[{"name": "Desk", "users": [cast.members["approver"].pk], "rule": Step.Rule.ANY}],
    )
    template = make_target(cast, sink_channel, text="Under a workflow")
    actions.approve_for_recurrence(template, actor=cast.owner)  # a workflow applies: not self-approved
    assert PostTarget.objects.get(pk=template.pk).status == S.DRAFT
    rec = _recurrence(cast, template)
    assert recurrence.generate(rec, now=dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)) == []


def test_a_recurring_posts_links_are_shortened(cast, sink_channel, settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = True  # no DNS here (as tests/links): host resolution skipped
    links.save_link_settings(
        cast.workspace, actor=cast.owner, shorten=True, utm_source="", utm_medium="", utm_campaign=""
    )
    template = make_target(cast, sink_channel, text="Weekly https://example.org/news")
    actions.submit_for_review(template, actor=cast.members["editor"])
    actions.approve(template, actor=cast.members["approver"])
    created = recurrence.generate(
        _recurrence(cast, template), now=dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    )
    assert created
    for occurrence in created:
        text = PostTarget.objects.get(pk=occurrence.pk).text
        assert "example.org" not in text and "/l/" in text
        assert ShortLink.objects.filter(target=occurrence).exists()


def test_each_bulk_imported_row_leaves_its_audit_rows(cast, sink_channel):
    year = dt.date.today().year + 1
    data = f"date,channels,text\n{year}-05-01 09:00,Sink,First\n{year}-05-02 09:00,Sink,Second\n".encode()
    job = bulk.create_job(cast.workspace, actor=cast.owner, data=data, filename="f.csv")
    bulk.check(job.pk)
    bulk.begin_import(bulk.ImportJob.objects.get(pk=job.pk), actor=cast.owner)
    targets = list(PostTarget.objects.filter(workspace=cast.workspace).order_by("scheduled_at"))
    assert [t.status for t in targets] == [S.SCHEDULED, S.SCHEDULED]
    for target in targets:
        event = AuditEvent.objects.get(action="target.scheduled", object_id=str(target.pk))
        assert event.actor == cast.owner and event.data["import"] == job.pk
        assert event.data["at"] == target.scheduled_at.isoformat()
        assert AuditEvent.objects.filter(action="post.created", object_id=str(target.post_id)).exists()


def test_an_owners_bulk_rows_under_a_workflow_wait_for_their_approval(cast, sink_channel):
    """Scheduling directly skips review; under an approval workflow the import does not."""
    approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Desk",
        applies_to=Workflow.AppliesTo.EVERYONE,
        steps=[{"name": "Desk", "users": [cast.members["approver"].pk], "rule": Step.Rule.ANY}],
    )
    year = dt.date.today().year + 1
    data = f"date,channels,text\n{year}-05-01 09:00,Sink,Reviewed first\n".encode()
    job = bulk.create_job(cast.workspace, actor=cast.owner, data=data, filename="f.csv")
    bulk.check(job.pk)
    bulk.begin_import(bulk.ImportJob.objects.get(pk=job.pk), actor=cast.owner)
    target = PostTarget.objects.get(workspace=cast.workspace)
    assert target.status == S.IN_REVIEW and target.options["planned_at"].startswith(f"{year}-05-01")
    assert AuditEvent.objects.filter(action="target.submitted", object_id=str(target.pk)).exists()
    assert AuditEvent.objects.filter(action="approval.started", object_id=str(target.pk)).exists()


def test_an_editors_bulk_rows_are_audited_as_submitted(cast, sink_channel):
    year = dt.date.today().year + 1
    data = f"date,channels,text\n{year}-05-01 09:00,Sink,Please\n".encode()
    job = bulk.create_job(cast.workspace, actor=cast.members["editor"], data=data, filename="f.csv")
    bulk.check(job.pk)
    bulk.begin_import(bulk.ImportJob.objects.get(pk=job.pk), actor=cast.members["editor"])
    target = PostTarget.objects.get(workspace=cast.workspace)
    assert target.status == S.IN_REVIEW and target.scheduled_at is None
    assert target.options["planned_at"].startswith(f"{year}-05-01")
    event = AuditEvent.objects.get(action="target.submitted", object_id=str(target.pk))
    assert event.actor == cast.members["editor"] and event.data["to"] == S.IN_REVIEW


def test_each_released_held_post_leaves_an_audit_row(cast, sink_channel):
    soon = timezone.now() - dt.timedelta(seconds=1)
    held = [make_target(cast, sink_channel, text=f"Held {n}", when=soon) for n in range(3)]
    channel_actions.pause_channel(channel=sink_channel, reason="token expired")
    dispatch.dispatch_due()  # the claim holds them: the channel is paused
    assert set(PostTarget.objects.values_list("hold_reason", flat=True)) == {PostTarget.Hold.CHANNEL_PAUSED}
    released = channel_actions.resume_channel(
        channel=Channel.objects.get(pk=sink_channel.pk), actor=cast.members["admin"]
    )
    assert released == 3
    for target in held:
        row = PostTarget.objects.get(pk=target.pk)
        assert row.status == S.SCHEDULED and row.hold_reason == ""
        event = AuditEvent.objects.get(action="target.released", object_id=str(target.pk))
        assert event.actor == cast.members["admin"] and event.data["reason"] == PostTarget.Hold.CHANNEL_PAUSED


def test_a_title_edit_is_audited(cast, sink_channel, owner_client):
    target = make_target(cast, sink_channel, text="Body")
    response = owner_client.post(
        f"/w/campaign/targets/{target.pk}/edit/",
        {"title": "A new title", "text": "Body", "channels": [sink_channel.pk], "when": "keep"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Post.objects.get(pk=target.post_id).title == "A new title"
    event = AuditEvent.objects.get(action="post.renamed", object_id=str(target.post_id))
    assert event.actor == cast.owner and event.data == {"before": "", "after": "A new title"}


def test_a_title_edit_after_approval_goes_back_to_review_under_a_workflow(cast, sink_channel):
    approvals.save_workflow(
        cast.workspace,
        actor=cast.owner,
        name="Desk",
        applies_to=Workflow.AppliesTo.EVERYONE,
        steps=[{"name": "Desk", "users": [cast.members["approver"].pk], "rule": Step.Rule.ANY}],
    )
    target = make_target(cast, sink_channel, text="Body")
    actions.submit_for_review(target, actor=cast.members["editor"])
    actions.approve(target, actor=cast.members["approver"])
    when = timezone.now() + dt.timedelta(days=2)
    actions.schedule(target, actor=cast.members["editor"], when=when)
    post = Post.objects.get(pk=target.post_id)
    assert actions.rename_post(post, actor=cast.members["editor"], title="Changed after approval")
    row = PostTarget.objects.get(pk=target.pk)
    assert row.status == S.IN_REVIEW
    sent_back = AuditEvent.objects.get(action="target.sent_back", object_id=str(target.pk))
    assert sent_back.data["changes"]["title"]["after"] == "Changed after approval"
    # Approved again, it goes back into its slot.
    actions.approve(row, actor=cast.members["approver"])
    row = PostTarget.objects.get(pk=target.pk)
    assert row.status == S.SCHEDULED and row.scheduled_at == when


def test_a_title_edit_is_refused_once_a_target_is_publishing(cast, sink_channel):
    target = make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(seconds=1))
    dispatch.claim_due()
    post = Post.objects.get(pk=target.post_id)
    with pytest.raises(actions.TransitionRefused, match="Already publishing"):
        actions.rename_post(post, actor=cast.owner, title="Too late")
    assert Post.objects.get(pk=target.post_id).title == ""
    assert not AuditEvent.objects.filter(action="post.renamed").exists()


def _api(client, user):
    _token, raw = ApiToken.issue(user, "test")

    def call(method, url, body=None):
        return getattr(client, method)(
            url,
            data=json.dumps(body) if body is not None else None,
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )

    return call


def test_an_api_create_that_cannot_schedule_leaves_no_post(client, cast, sink_channel):
    api = _api(client, cast.owner)
    # The channel has no posting slots: "queue" is refused, and the post is not kept.
    response = api(
        "post", "/api/workspaces/campaign/posts",
        {"text": "Queued", "channel_ids": [sink_channel.pk], "schedule": {"mode": "queue"}},
    )  # fmt: skip
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "no_slots" and "no posting slots" in body["message"]
    assert not Post.objects.exists() and not PostTarget.objects.exists()
    assert not AuditEvent.objects.filter(action="post.created").exists()


def test_an_editor_cannot_create_a_scheduled_post_over_the_api_and_no_post_is_left(
    client, cast, sink_channel
):
    api = _api(client, cast.members["editor"])
    response = api(
        "post", "/api/workspaces/campaign/posts",
        {"text": "Now", "channel_ids": [sink_channel.pk], "schedule": {"mode": "now"}},
    )  # fmt: skip
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "cannot_schedule"
    assert not Post.objects.exists()


def test_an_api_create_with_no_channel_is_refused(client, cast, sink_channel):
    api = _api(client, cast.owner)
    response = api("post", "/api/workspaces/campaign/posts", {"text": "Nowhere", "channel_ids": []})
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "no_channels" and set(body["fields"]) == {"channel_ids"}
    assert not Post.objects.exists()


def test_api_tokens_are_issued_and_revoked_with_audit_rows(cast):
    client = cast.client_for(cast.owner)
    response = client.post("/accounts/tokens/", {"name": "CI"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=cast.owner, name="CI")
    issued = AuditEvent.objects.get(action="api_token.issued", object_id=str(token.pk))
    assert issued.actor == cast.owner and issued.data["hint"] == token.hint
    assert token.token_hash not in json.dumps(issued.data)  # never the secret
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditEvent.objects.filter(action="api_token.revoked", object_id=str(token.pk)).exists()


# --- refusals and the engine's messages ----------------------------------------------------------


def test_an_engine_message_is_stored_as_a_key_and_shown_in_the_readers_language(cast, sink_channel):
    from django.utils import translation

    from chorus.publishing.outcomes import Outcome, said

    target = make_target(cast, sink_channel, when=timezone.now() - dt.timedelta(seconds=1))
    dispatch.claim_due()
    target = PostTarget.objects.select_related("workspace", "channel", "post").get(pk=target.pk)
    actions.mark_failed(target, code="internal", **said("internal", error="KeyError"))
    row = PostTarget.objects.get(pk=target.pk)
    assert row.error_message == "Internal error before sending: KeyError"  # English, for logs
    assert row.error_params == {"key": "internal", "error": "KeyError"}
    with translation.override("fr"):
        assert row.error_text == "Erreur interne avant l’envoi : KeyError"
    assert Outcome.FAILED == "failed"  # typed, and still the word the logs and tasks print


def test_a_refusal_is_one_shape_for_the_api_and_the_views(rf, cast):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.utils.translation import gettext_lazy

    from chorus.core.refusals import Invalid, TransitionRefused, respond

    refusal = TransitionRefused(
        gettext_lazy("%(channel)s has no posting slots; add some in the channel's queue settings."),
        code="no_slots",
        channel="Sink",
    )
    assert refusal.as_json() == {
        "code": "no_slots",
        "message": "Sink has no posting slots; add some in the channel's queue settings.",
        "fields": {},
    }
    assert isinstance(Invalid("x"), ValueError)  # the ValueErrors it replaced are still caught
    request = rf.post("/w/campaign/anything", HTTP_REFERER="http://testserver/w/campaign/targets/")
    request.user = cast.owner
    request.session = {}
    request._messages = FallbackStorage(request)
    response = respond(request, refusal)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Sink has no posting slots" in page and 'href="http://testserver/w/campaign/targets/"' in page
    htmx = rf.post("/w/campaign/anything", HTTP_HX_REQUEST="true")
    htmx.user = cast.owner
    assert respond(htmx, refusal).content.decode().startswith("Sink has no posting slots")
