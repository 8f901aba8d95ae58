from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from typing import Any

from django.apps import apps
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chorus.accounts.access import current_user, membership_of, workspace_of, workspace_view
from chorus.accounts.models import Workspace
from chorus.accounts.permissions import Perm, can, may_schedule_directly
from chorus.channels.models import Channel
from chorus.content.models import Campaign, Post, PostTarget, PostTemplate, Tag
from chorus.core.models import AuditEvent
from chorus.core.refusals import Invalid
from chorus.core.spreadsheet import safe_row
from chorus.core.timeutil import refuse_past, resolve_local, short_label, short_names, to_local
from chorus.publishing import actions, composer, post_templates, postlist, review, writing_rules
from chorus.publishing import when as when_choice
from chorus.publishing.forms import ComposerForm, RescheduleForm
from chorus.publishing.quotas import forecast_warnings

S = PostTarget.Status


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def target_list(request: HttpRequest) -> HttpResponse:
    """The Posts page: one row per post, its copies as channel chips with their own status."""
    workspace = workspace_of(request)
    role = membership_of(request).role
    filters = postlist.PostFilter(request.GET or None, workspace=workspace)
    page = Paginator(postlist.rows(filters.filtered()), postlist.PAGE_SIZE).get_page(request.GET.get("page"))
    held = PostTarget.objects.filter(workspace=workspace, status=S.SCHEDULED).exclude(hold_reason="").count()
    return render(
        request,
        "publishing/target_list.html",
        {
            "workspace": workspace,
            "filters": filters,
            "page": page,
            "rows": [postlist.Row(p) for p in page],
            "query": filters.query_string(),
            "held_count": held,
            "bulk_actions": _bulk_choices(role),
            "campaigns": Campaign.objects.filter(workspace=workspace).order_by("name"),
        },
    )


BULK_PERMS = {
    "submit": Perm.CREATE_POST,
    "approve": Perm.APPROVE_POST,
    "reschedule": Perm.SCHEDULE_POST,
    "campaign": Perm.CREATE_POST,
    "delete": Perm.CREATE_POST,
    "export": Perm.VIEW_WORKSPACE,
}


def _bulk_choices(role: str) -> list[tuple[str, str]]:
    labels = {
        "submit": _("Submit for review"),
        "approve": _("Approve"),
        "reschedule": _("Reschedule"),
        "campaign": _("Move to campaign"),
        "delete": _("Delete"),
        "export": _("Export (CSV)"),
    }
    return [(key, labels[key]) for key, perm in BULK_PERMS.items() if can(role, perm)]


def _report(request: HttpRequest, outcome: actions.BatchOutcome) -> None:
    if outcome.changed:
        made = ngettext("%(count)d change made.", "%(count)d changes made.", outcome.changed)
        messages.success(request, made % {"count": outcome.changed})
    for reason in outcome.refused[:20]:
        messages.error(request, reason)
    if not outcome.changed and not outcome.refused:
        messages.info(
            request, _("Nothing to change: no selected post is in a status this action applies to.")
        )


@workspace_view(Perm.VIEW_WORKSPACE, methods=("POST",))
def posts_bulk(request: HttpRequest) -> HttpResponse:
    """A bulk action on the selected posts of the Posts list; each copy moves through actions."""
    workspace = workspace_of(request)
    user = current_user(request)
    role = membership_of(request).role
    action = request.POST.get("action", "")
    back = redirect(f"{reverse('publishing:targets', args=[workspace.slug])}?{request.POST.get('query', '')}")
    if action not in BULK_PERMS:
        messages.error(request, _("Choose an action."))
        return back
    if not can(role, BULK_PERMS[action]):
        messages.error(request, _("Your role cannot do this."))
        return back
    ids = [int(v) for v in request.POST.getlist("post") if v.isdigit()]
    posts = Post.objects.filter(workspace=workspace, pk__in=ids).select_related("workspace")
    if action in {"campaign", "delete"} and not can(role, Perm.EDIT_ANY_POST):
        posts = posts.filter(author=user)  # a contributor changes only their own posts
    chosen = list(posts)
    if not chosen:
        messages.error(request, _("Select at least one post."))
        return back
    if action == "export":
        return _export(workspace, chosen)
    try:
        if action == "submit":
            _report(request, actions.submit_posts(chosen, actor=user))
        elif action == "approve":
            _report(request, actions.approve_posts(chosen, actor=user))
        elif action == "reschedule":
            local = _parse_local(request.POST.get("local_time", ""))
            if local is None:
                messages.error(request, _("Choose a valid date and time."))
                return back
            resolved = resolve_local(local, workspace.timezone)
            if resolved.utc <= timezone.now():
                messages.error(request, _("Choose a time in the future."))
                return back
            _report(
                request, actions.reschedule_posts(chosen, actor=user, when=resolved.utc, note=resolved.note)
            )
        elif action == "campaign":
            raw = request.POST.get("campaign", "")
            campaign = (
                Campaign.objects.filter(workspace=workspace, pk=int(raw)).first() if raw.isdigit() else None
            )
            if raw and campaign is None:
                messages.error(request, _("Choose a campaign."))
                return back
            _report(request, actions.move_to_campaign(chosen, actor=user, campaign=campaign))
        elif action == "delete":
            _report(request, actions.delete_posts(chosen, actor=user))
    except actions.TransitionRefused as exc:
        messages.error(request, str(exc))
    return back


def _export(workspace: Workspace, posts: list[Post]) -> HttpResponse:
    """The selected posts as CSV: one row per post, each copy's channel and status."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["id", "title", "text", "channels", "statuses", "first_time", "campaign", "tags", "author"]
    )
    for post in postlist.rows(Post.objects.filter(pk__in=[p.pk for p in posts])):
        row = postlist.Row(post)
        when = row.when
        writer.writerow(
            safe_row(
                [
                    post.pk,
                    post.title,
                    row.copies[0].text if row.copies else "",
                    "|".join(c.channel.name for c in row.copies),
                    "|".join(c.status for c in row.copies),
                    to_local(when, workspace.timezone).isoformat(timespec="minutes") if when else "",
                    post.campaign.name if post.campaign else "",
                    "|".join(sorted(t.name for t in post.tags.all())),
                    post.author.email if post.author else "",
                ]
            )
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{workspace.slug}-posts.csv"'
    return response


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def target_detail(request: HttpRequest, target_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    target = get_object_or_404(
        PostTarget.objects.select_related("channel", "post", "post__author"),
        pk=target_id,
        workspace=workspace,
    )
    history = (
        AuditEvent.objects.filter(
            workspace=workspace, object_type="content.posttarget", object_id=str(target.pk)
        )
        .select_related("actor")
        .order_by("at")
    )
    role = membership_of(request).role
    return render(
        request,
        "publishing/target_detail.html",
        {
            "workspace": workspace,
            "target": target,
            "history": history,
            "reschedule_form": RescheduleForm(),
            "can_schedule": can(role, Perm.SCHEDULE_POST),
            "can_approve": can(role, Perm.APPROVE_POST),
        },
    )


ACTIONS = {"reschedule", "unschedule", "release", "retry", "now", "approve", "reject", "submit"}


@workspace_view(Perm.SCHEDULE_POST, methods=("POST",))
def target_action(request: HttpRequest, target_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    user = current_user(request)
    target = get_object_or_404(
        PostTarget.objects.select_related("channel", "workspace", "post"), pk=target_id, workspace=workspace
    )
    action = request.POST.get("action", "")
    try:
        if action == "reschedule":
            form = RescheduleForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Choose a valid date and time."))
                return redirect("publishing:target", slug=workspace.slug, target_id=target.pk)
            resolved = resolve_local(form.cleaned_data["local_time"].replace(tzinfo=None), workspace.timezone)
            refuse_past(resolved.utc, workspace.timezone)
            actions.reschedule(target, actor=user, when=resolved.utc, note=resolved.note)
            if resolved.note:
                messages.warning(request, resolved.note)
        elif action == "unschedule":
            actions.unschedule(target, actor=user)
        elif action == "release":
            actions.release_hold(target, actor=user)
        elif action == "retry":
            actions.retry_failed(target, actor=user)
        elif action == "now":
            actions.schedule(target, actor=user, when=timezone.now())
        elif action == "submit":
            actions.submit_for_review(target, actor=user)
        elif action in {"approve", "reject"}:
            if not can(membership_of(request).role, Perm.APPROVE_POST):
                messages.error(request, _("Your role cannot approve posts."))
            elif action == "approve":
                actions.approve(target, actor=user, comment=request.POST.get("comment", ""))
            else:
                actions.reject(
                    target, actor=user, reason=request.POST.get("comment", "") or _("No reason given")
                )
        else:
            messages.error(request, _("Unknown action."))
            return redirect("publishing:target", slug=workspace.slug, target_id=target.pk)
    except (actions.TransitionRefused, Invalid) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Done."))
    return redirect("publishing:target", slug=workspace.slug, target_id=target.pk)


# --- the composer ------------------------------------------------------------------------------


def _editable_targets(post: Post) -> tuple[list[PostTarget], list[PostTarget]]:
    targets = list(post.targets.select_related("channel", "workspace", "post").order_by("channel__name"))
    editable = [t for t in targets if t.status in actions.EDITABLE]
    return editable, [t for t in targets if t.status not in actions.EDITABLE]


def _may_edit(request: HttpRequest, post: Post) -> bool:
    return post.author_id == current_user(request).pk or can(membership_of(request).role, Perm.EDIT_ANY_POST)


def _allowed_media(items: list[dict[str, Any]], post: Post | None) -> list[dict[str, Any]]:
    """Media paths come back from the browser, so only those this post already carries are kept
    (with their stored fields; the alt text is the one typed). New media come from the library
    as asset ids: see _library_media."""
    known = {str(m.get("path")): m for t in post.targets.all() for m in t.media} if post else {}
    return [{**known[item["path"]], "alt": item["alt"]} for item in items if item["path"] in known]


def _library_media(request: HttpRequest, workspace: Workspace) -> list[dict[str, Any]]:
    """Media picked from the library (`media-asset` ids + `media-asset-alt`), looked up in this
    workspace only and turned into media items by the library itself."""
    raw_ids = request.POST.getlist("media-asset")
    if not raw_ids or not apps.is_installed("chorus.media"):
        return []
    from chorus.media.actions import as_post_media
    from chorus.media.models import MediaAsset

    alts = request.POST.getlist("media-asset-alt")
    from chorus.media.consent import usable  # withdrawn or unreviewed files are refused

    assets = usable(MediaAsset.objects.filter(workspace=workspace), workspace).filter(
        pk__in=[int(v) for v in raw_ids if v.isdigit()]
    )
    by_id = {str(a.pk): a for a in assets}
    items = []
    for index, raw in enumerate(raw_ids):
        asset = by_id.get(raw)
        if asset is not None:
            alt = alts[index].strip() if index < len(alts) else ""
            items.append(as_post_media(asset, alt=alt or None))
    return items


def _read_draft(request: HttpRequest, workspace: Workspace, post: Post | None) -> composer.Draft:
    data = request.POST
    if post is not None:
        editable, _locked = _editable_targets(post)
        pairs: list[tuple[Channel, PostTarget | None]] = [(t.channel, t) for t in editable]
    else:
        ids = [int(v) for v in data.getlist("channels") if v.isdigit()]
        pairs = [(c, None) for c in Channel.objects.filter(workspace=workspace, pk__in=ids).order_by("name")]
    channel_drafts = [
        composer.ChannelDraft(
            channel=channel,
            own_text=data.get(f"c{channel.pk}-text", ""),
            options=composer.read_options(channel.kind, data, f"c{channel.pk}"),
            target=target,
        )
        for channel, target in pairs
    ]
    media = _allowed_media(composer.read_media(data), post) + _library_media(request, workspace)
    raw_campaign = str(data.get("campaign", "")).strip()
    return composer.Draft(
        title=data.get("title", "").strip(),
        text=data.get("text", ""),
        link=data.get("link", "").strip(),
        media=media,
        channels=channel_drafts,
        # Only a campaign of this workspace (another's id would name no rule anyway).
        campaign_id=(
            Campaign.objects.filter(workspace=workspace, pk=int(raw_campaign))
            .values_list("pk", flat=True)
            .first()
            if raw_campaign.isdigit()
            else None
        ),
        signatures=composer.signatures_of(workspace),
    )


def _initial_draft(workspace: Workspace, post: Post | None) -> composer.Draft:
    if post is None:
        return composer.Draft(title="", text="", link="", media=[], channels=[])
    editable, _locked = _editable_targets(post)
    signatures = composer.signatures_of(workspace)
    # A person edits the body: each copy's signature is shown in its preview and added again
    # when saved (writing_rules.signed), so copies that differ only by it share the main text.
    bodies = {t.pk: writing_rules.unsign(t.text, signatures.get(t.channel_id, "")) for t in editable}
    main = bodies[editable[0].pk] if editable else ""
    return composer.Draft(
        title=post.title,
        text=main,
        link="",
        media=list(editable[0].media) if editable else [],
        channels=[
            composer.ChannelDraft(t.channel, "" if bodies[t.pk] == main else bodies[t.pk], dict(t.options), t)
            for t in editable
        ],
        campaign_id=post.campaign_id,
        signatures=signatures,
    )


def _parse_local(value: str) -> dt.datetime | None:
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"):
        try:
            return dt.datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
    return None


def _schedule_preview(request: HttpRequest, workspace: Workspace, draft: composer.Draft) -> dict[str, Any]:
    """The DST note and quota warnings of the chosen time, shown before saving."""
    data = request.POST
    when = data.get("when", "")
    local: dt.datetime | None = None
    if when == "at":
        local = _parse_local(data.get("local_time", ""))
    elif when == "recurring" and data.get("recur_start") and data.get("recur_time"):
        local = _parse_local(f"{data['recur_start']} {data['recur_time']}")
    resolved = composer.resolve_schedule(workspace, local)
    warnings: list[str] = []
    if resolved is not None and when == "at":
        for cd in draft.channels:
            warnings += forecast_warnings(cd.channel, resolved.utc)
    return {"resolved": resolved, "quota_warnings": warnings}


def _save_as_template(request: HttpRequest, workspace: Workspace, draft: composer.Draft) -> None:
    """ "Save as template": the composer's text, link, each ticked channel's own text and options
    (per network kind), campaign and tags become a template (chorus.publishing.post_templates,
    which checks and audits). The answer is a message on the same page, the draft kept."""
    options: dict[str, dict[str, Any]] = {}
    for cd in draft.channels:
        if cd.options:
            options.setdefault(cd.channel.kind, dict(cd.options))
    values = post_templates.TemplateValues(
        kind=PostTemplate.Kind.TEMPLATE,
        name=str(request.POST.get("template_name", "")),
        text=draft.text,
        link=draft.link,
        options=options,
        campaign_id=draft.campaign_id,
        tags=str(request.POST.get("tags", "")),
        channel_texts={cd.channel.pk: cd.own_text for cd in draft.channels},
    )
    try:
        template = post_templates.create(workspace, values, actor=current_user(request))
    except Invalid as exc:
        details = "; ".join(str(v) for v in exc.fields.values())
        messages.error(request, _("Template not saved: %(reason)s") % {"reason": details or exc.message})
        return
    messages.success(
        request,
        _("Template “%(name)s” saved: it is offered under “Start from a template”.")
        % {"name": template.name},
    )


def _channel_rows(
    form: ComposerForm,
    draft: composer.Draft,
    checks: dict[int, composer.ChannelCheck],
    post: Post | None,
    defaults: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """One tab per channel: every workspace channel when composing (shown when ticked), the
    post's editable targets when editing. `defaults`: options per network kind (a template's)
    for the channels not in the draft yet."""
    by_channel = {cd.channel.pk: cd for cd in draft.channels}
    channels = [cd.channel for cd in draft.channels] if post else list(form.fields["channels"].queryset)  # type: ignore[attr-defined]
    rows = []
    for channel in channels:
        cd = by_channel.get(channel.pk) or composer.ChannelDraft(
            channel, "", dict((defaults or {}).get(channel.kind, {}))
        )
        fields = [
            {
                "spec": spec,
                "name": f"c{channel.pk}-{spec.name}",
                "value": composer.option_value(spec, cd.options),
            }
            for spec in composer.option_fields(channel.kind)
        ]
        rows.append(
            {
                "channel": channel,
                "draft": cd,
                "fields": fields,
                "check": checks.get(channel.pk),
                "selected": channel.pk in by_channel,
                "handle": composer.handle_of(channel),
            }
        )
    return rows


def _queue_rows(form: ComposerForm, draft: composer.Draft, post: Post | None) -> list[dict[str, Any]]:
    """For "Next free queue slot": each channel's next free slot, or none (it has no slots)."""
    from chorus.planning.slots import next_free

    channels = [cd.channel for cd in draft.channels] if post else list(form.fields["channels"].queryset[:50])  # type: ignore[attr-defined]
    rows = []
    for channel in channels:
        upcoming = next_free(channel) if channel.posting_slots else None
        rows.append({"channel": channel, "next": short_label(upcoming.local) if upcoming else ""})
    return rows


def _schedules_directly(role: str) -> bool:
    """A new or edited post starts as a draft; only someone who may also approve can take it
    straight to the schedule (the state machine's rule). Others submit it for review."""
    return may_schedule_directly(role)


def _past_refusal(workspace: Workspace, when: str, local: dt.datetime | None) -> Invalid | None:
    """A time already passed, refused as every path refuses it (core.timeutil.refuse_past)."""
    if when != "at" or local is None:
        return None
    try:
        refuse_past(resolve_local(local.replace(tzinfo=None), workspace.timezone).utc, workspace.timezone)
    except Invalid as exc:
        return exc
    return None


def _button(workspace: Workspace, form: ComposerForm) -> dict[str, Any]:
    """The main button's label for the current choice, and every label for the page's script."""
    mode = str(form["when"].value() or "")
    raw = form["local_time"].value()
    local = raw if isinstance(raw, dt.datetime) else _parse_local(str(raw or ""))
    days, months = short_names()
    return {
        "label": composer.button_label(workspace, mode, local),
        "labels": composer.button_labels(workspace),
        "days": ",".join(days),
        "months": ",".join(months),
    }


def _composer_page(request: HttpRequest, post: Post | None) -> HttpResponse:
    workspace = workspace_of(request)
    role = membership_of(request).role
    editing = post is not None
    data: QueryDict | None = request.POST if request.method == "POST" else None
    if data is not None and data.get("publish_now"):  # the explicit alternative to a past time
        data = data.copy()
        data["when"] = "now"
    form = ComposerForm(data, workspace=workspace, editing=editing, can_schedule=_schedules_directly(role))
    locked = _editable_targets(post)[1] if post else []
    draft = _read_draft(request, workspace, post) if data is not None else _initial_draft(workspace, post)
    if data is None and post is None:
        # Links from elsewhere may prefill the composer: ?text=... and ?at=YYYY-MM-DDTHH:MM
        # (the calendar's "new post on this day").
        if request.GET.get("text"):
            draft.text = request.GET["text"]
            form.initial["text"] = draft.text
        at = _parse_local(request.GET.get("at", ""))
        if at is not None and _schedules_directly(role):
            form.initial.update(when="at", local_time=at)
        # ?channel=<id>&opt_<name>=<value>: one channel ticked with options its connector declares
        # (listening's "Reply" / "Quote" on a match: the post it answers).
        raw_channel = request.GET.get("channel", "")
        if raw_channel.isdigit():
            ticked = get_object_or_404(Channel, pk=int(raw_channel), workspace=workspace)
            options = {
                spec.name: request.GET[f"opt_{spec.name}"][:500]
                for spec in composer.option_fields(ticked.kind)
                if spec.kind == "text" and request.GET.get(f"opt_{spec.name}")
            }
            draft.channels = [composer.ChannelDraft(ticked, "", options)]
    used_template = None
    raw_template = request.GET.get("template", "")
    if data is None and post is None and raw_template.isdigit():
        # "Start from a template": its text, link, options per network, campaign and tags.
        used_template = get_object_or_404(
            PostTemplate, pk=int(raw_template), workspace=workspace, kind=PostTemplate.Kind.TEMPLATE
        )
        draft.text, draft.link = used_template.text, used_template.link
        form.initial.update(
            text=used_template.text,
            link=used_template.link,
            campaign=used_template.campaign_id,
            tags=used_template.tags,
        )
    if data is None and post is not None:
        form.initial.update(
            title=post.title,
            text=draft.text,
            evergreen=post.evergreen,
            campaign=post.campaign_id,
            tags=", ".join(sorted(post.tags.values_list("name", flat=True), key=str.lower)),
        )
    if used_template is not None:
        # The template's own text per channel: those channels are ticked with it.
        by_pk = {
            c.pk: c
            for c in Channel.objects.filter(
                workspace=workspace, pk__in=[int(k) for k in used_template.channel_texts]
            )
        }
        draft.channels = [
            composer.ChannelDraft(channel, text, dict(used_template.options.get(channel.kind, {})))
            for key, text in used_template.channel_texts.items()
            if (channel := by_pk.get(int(key))) is not None
        ]
    checks = {c.channel.pk: c for c in composer.check_draft(draft, workspace)} if draft.channels else {}
    past_refused = queue_refused = False
    if data is not None and post is None and data.get("save_template"):
        _save_as_template(request, workspace, draft)  # the post itself is not saved: keep writing
    elif data is not None and form.is_valid():
        when = form.cleaned_data["when"]
        problems = any(c.problems for c in checks.values())
        if when in {"now", "at", "queue", "recurring"} and not _schedules_directly(role):
            form.add_error("when", _("Your role cannot schedule posts; submit it for review instead."))
        elif when not in {"draft", "keep"} and problems:
            form.add_error(None, _("Fix the problems shown on each channel before scheduling or review."))
        elif editing and not draft.channels:
            form.add_error(None, _("Already publishing: this post can no longer be changed."))
        elif when == "queue" and (
            empty := [cd.channel.name for cd in draft.channels if not cd.channel.posting_slots]
        ):
            form.add_error(
                "when",
                _("No queue slots yet for %(channels)s: add them on the Queue slots page, or choose a time.")
                % {"channels": ", ".join(empty)},
            )
            queue_refused = True
        elif (past := _past_refusal(workspace, when, form.cleaned_data.get("local_time"))) is not None:
            form.add_error("local_time", past.message)
            past_refused = True
        else:
            saved = _save(request, workspace, post, draft, form.cleaned_data)
            if saved is not None:
                if problems:
                    messages.warning(request, _("Saved as a draft; some channels still have problems."))
                return redirect("publishing:targets", slug=workspace.slug)
    schedule = _schedule_preview(request, workspace, draft) if data is not None else {}
    kit = post_templates.for_composer(workspace)
    return render(
        request,
        "publishing/composer.html",
        {
            "workspace": workspace,
            "form": form,
            "post": post,
            "draft": draft,
            "rows": _channel_rows(
                form, draft, checks, post, used_template.options if used_template else None
            ),
            "used_template": used_template,
            "queue": _queue_rows(form, draft, post),
            "queue_refused": queue_refused,
            "templates": kit[0],
            "snippets": kit[1],
            "locked": locked,
            "checks": list(checks.values()),
            "media_library": apps.is_installed("chorus.media"),
            "can_upload": can(role, Perm.MANAGE_MEDIA),
            "short_base": composer.short_link_base(),
            "shorten": bool(form["shorten_links"].value()),
            "alt_required": composer.alt_text_required(workspace),
            "can_schedule": _schedules_directly(role),
            "past_refused": past_refused,
            "tag_names": list(
                Tag.objects.filter(workspace=workspace).order_by("name").values_list("name", flat=True)[:500]
            ),
            "button": _button(workspace, form),
            **schedule,
        },
    )


def _save(
    request: HttpRequest,
    workspace: Workspace,
    post: Post | None,
    draft: composer.Draft,
    data: dict[str, Any],
) -> Post | None:
    user = current_user(request)
    if post is None:
        post = actions.create_post(
            workspace=workspace,
            author=user,
            channels=[cd.channel for cd in draft.channels],
            text=draft.text,
            title=draft.title,
            per_channel_text={cd.channel.pk: draft.text_for(cd) for cd in draft.channels},
            evergreen=data["evergreen"],
        )
        by_channel = {t.channel_id: t for t in post.targets.select_related("workspace", "channel", "post")}
        for cd in draft.channels:
            cd.target = by_channel[cd.channel.pk]
            if draft.media or cd.options:
                actions.edit(cd.target, actor=user, media=draft.media, options=cd.options)
    else:
        try:
            actions.rename_post(post, actor=user, title=draft.title)
        except actions.TransitionRefused as exc:
            messages.error(request, str(exc))
        for cd in draft.channels:
            assert cd.target is not None
            try:
                actions.edit(
                    cd.target, actor=user, text=draft.text_for(cd), media=draft.media, options=cd.options
                )
            except actions.TransitionRefused as exc:
                messages.error(request, f"{cd.channel.name}: {exc}")
                cd.target = None
    try:  # before the schedule: a campaign may choose the approval workflow
        actions.file_post(
            post, actor=user, campaign=data.get("campaign"), tags=str(data.get("tags") or "").split(",")
        )
    except actions.TransitionRefused as exc:
        messages.error(request, str(exc))
    if data.get("shorten_links"):
        _shorten(request, draft)
    for cd in draft.channels:
        if cd.target is None:
            continue
        try:
            _apply_when(request, cd.target, data)
        except (actions.TransitionRefused, ValueError) as exc:
            messages.error(request, f"{cd.channel.name}: {exc}")
    if apps.is_installed("chorus.media"):
        from chorus.media.actions import sync_usage  # "used in N posts" in the library

        for cd in draft.channels:
            if cd.target is not None:
                sync_usage(cd.target)
    messages.success(request, _("Post saved."))
    return post


def _shorten(request: HttpRequest, draft: composer.Draft) -> None:
    """ "Add UTM and shorten links": each channel's links get its UTM parameters (its network, the
    post's campaign) and a short link on this site, once the targets exist (chorus.links)."""
    from chorus.links.actions import shorten_target_links

    user = current_user(request)
    for cd in draft.channels:
        if cd.target is None:
            continue
        # Read again: the campaign was filed after the targets were loaded, and it names the UTM.
        target = PostTarget.objects.select_related("post__campaign", "channel", "workspace").get(
            pk=cd.target.pk
        )
        try:
            shorten_target_links(target, actor=user, shorten=True)
        except actions.TransitionRefused as exc:
            messages.error(request, f"{cd.channel.name}: {exc}")
            continue
        cd.target = target


def _apply_when(request: HttpRequest, target: PostTarget, data: dict[str, Any]) -> None:
    user = current_user(request)
    when = when_choice.parse(data["when"], local=data.get("local_time"))
    applied = when_choice.apply(target, when, actor=user)
    if when.mode == "at":
        for warning in applied.warnings:
            messages.warning(request, warning)
    elif when.mode == "queue":
        assert applied.resolved is not None
        messages.info(
            request,
            _("Queued on %(channel)s for %(time)s.")
            % {"channel": target.channel.name, "time": applied.resolved.local.strftime("%Y-%m-%d %H:%M")},
        )
    if when.mode == "recurring":
        rrule = composer.build_rrule(data["recur_freq"], data["recur_days"])
        start = data["recur_start"] or timezone.localdate(
            timezone=zoneinfo.ZoneInfo(target.workspace.timezone)
        )
        _rec, created = composer.create_recurrence(
            target, actor=user, rrule=rrule, starts_local=dt.datetime.combine(start, data["recur_time"])
        )
        messages.info(
            request,
            ngettext(
                "Repeats on %(channel)s; %(count)d occurrence scheduled for the coming week.",
                "Repeats on %(channel)s; %(count)d occurrences scheduled for the coming week.",
                len(created),
            )
            % {"channel": target.channel.name, "count": len(created)},
        )


@workspace_view(Perm.CREATE_POST)
def post_new(request: HttpRequest) -> HttpResponse:
    return _composer_page(request, None)


@workspace_view(Perm.CREATE_POST)
def post_edit(request: HttpRequest, target_id: int) -> HttpResponse:
    """Edits every still-editable target of the post this target belongs to."""
    workspace = workspace_of(request)
    target = get_object_or_404(PostTarget.objects.select_related("post"), pk=target_id, workspace=workspace)
    if not _may_edit(request, target.post):
        messages.error(request, _("Only the author or an editor can change this post."))
        return redirect("publishing:target", slug=workspace.slug, target_id=target.pk)
    return _composer_page(request, target.post)


@workspace_view(Perm.CREATE_POST, methods=("POST",))
def compose_check(request: HttpRequest) -> HttpResponse:
    """Live validation (htmx, debounced): per-channel problems, counters and previews, plus the
    schedule's DST note and quota warnings, as out-of-band fragments."""
    workspace = workspace_of(request)
    post = None
    if request.POST.get("post_target", "").isdigit():
        target = PostTarget.objects.filter(workspace=workspace, pk=int(request.POST["post_target"])).first()
        post = target.post if target is not None and _may_edit(request, target.post) else None
    draft = _read_draft(request, workspace, post)
    checks = composer.check_draft(draft, workspace)
    selected = {cd.channel.pk for cd in draft.channels}
    unselected = (
        Channel.objects.filter(workspace=workspace).exclude(pk__in=selected).values_list("pk", flat=True)
    )
    return render(
        request,
        "publishing/_checks.html",
        {
            "workspace": workspace,
            "checks": checks,
            "draft": draft,
            "unselected": list(unselected),
            "problem_count": sum(len(c.problems) for c in checks),
            "shorten": request.POST.get("shorten_links") == "on",
            "short_base": composer.short_link_base(),
            **_schedule_preview(request, workspace, draft),
        },
    )


@workspace_view(Perm.CREATE_POST, methods=("POST",))
def link_preview(request: HttpRequest) -> HttpResponse:
    preview = composer.fetch_link_preview(request.POST.get("link", ""))
    return render(request, "publishing/_link_preview.html", {"preview": preview})


# --- the review queue ----------------------------------------------------------------------------


@workspace_view(Perm.VIEW_WORKSPACE, methods=("GET",))
def review_queue(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    user = current_user(request)
    can_approve = can(membership_of(request).role, Perm.APPROVE_POST)
    waiting = review.waiting(workspace) if can_approve else PostTarget.objects.none()
    returned = review.returned(workspace, user)
    return render(
        request,
        "publishing/review_queue.html",
        {
            "workspace": workspace,
            "can_approve": can_approve,
            "waiting": waiting[:200],
            "returned": returned[:200],
            "history": review.history(workspace) if can_approve else [],
        },
    )


@workspace_view(Perm.APPROVE_POST, methods=("POST",))
def review_decide(request: HttpRequest, target_id: int) -> HttpResponse:
    workspace = workspace_of(request)
    user = current_user(request)
    target = get_object_or_404(
        PostTarget.objects.select_related("channel", "workspace", "post", "post__author"),
        pk=target_id,
        workspace=workspace,
    )
    decision = request.POST.get("decision", "")
    comment = request.POST.get("comment", "").strip()
    error = ""
    try:
        if decision == "approve":
            actions.approve(target, actor=user, comment=comment)
        elif decision == "reject":
            if not comment:
                error = _("Say what to change: the author sees this reason.")
            else:
                actions.reject(target, actor=user, reason=comment)
        else:
            error = _("Choose approve or reject.")
    except actions.TransitionRefused as exc:
        error = str(exc)
    if request.headers.get("HX-Request"):
        return render(
            request,
            "publishing/_review_item.html",
            {"workspace": workspace, "t": target, "error": error, "decided": not error, "comment": comment},
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Decision recorded."))
    return redirect("publishing:review", slug=workspace.slug)
