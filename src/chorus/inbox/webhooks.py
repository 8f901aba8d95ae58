"""Meta webhooks for the inbox (Facebook Page comments, mentions and Messenger, Instagram
comments, mentions and direct messages): the subscription challenge, the X-Hub-Signature-256 check over the raw body,
replayed deliveries ignored, entries stored through the ingest action (polling is the backstop:
the same item arriving both ways is stored once)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from chorus.channels.models import Channel
from chorus.connectors.meta import inbox as meta_inbox
from chorus.inbox import actions
from chorus.inbox.models import WebhookDelivery

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000  # Meta batches at most 1,000 updates; far below this
# network in the URL → (the app secret's setting, the channel config key of the account id)
NETWORKS = {
    "facebook": ("FACEBOOK_CLIENT_SECRET", "page_id"),
    "instagram": ("INSTAGRAM_CLIENT_SECRET", "ig_user_id"),
}


@csrf_exempt
def meta_webhook(request: HttpRequest, network: str) -> HttpResponse:
    if network not in NETWORKS:
        return HttpResponse(status=404)
    if request.method == "GET":
        return _subscribe(request)
    if request.method != "POST":
        return HttpResponse(status=405)
    length = int(request.headers.get("Content-Length") or 0)
    if length > MAX_BODY:
        return HttpResponse("The delivery is too large.", status=413, content_type="text/plain")
    raw = request.body  # the raw bytes: the signature covers them, not a re-encoded JSON
    secret_setting, account_key = NETWORKS[network]
    secret = str(getattr(settings, secret_setting, "") or "")
    if not meta_inbox.signature_valid(secret, raw, request.headers.get("X-Hub-Signature-256", "")):
        log.warning("inbox webhook: refused a %s delivery with a bad signature", network)
        return HttpResponse("Bad signature.", status=403, content_type="text/plain")
    try:
        payload = json.loads(raw)
    except ValueError:
        return HttpResponse("The body is not JSON.", status=400, content_type="text/plain")
    digest = hashlib.sha256(raw).hexdigest()
    if WebhookDelivery.objects.filter(digest=digest).exists():
        # The same signed body again (a replay, or Meta retrying one we stored): nothing new.
        return JsonResponse({"stored": 0, "duplicate": True})
    work = []
    for account, entries in meta_inbox.webhook_entries(payload).items():
        if not entries:
            continue
        lookup = {f"config__{account_key}": account}
        for channel in Channel.objects.filter(kind=network, status=Channel.Status.ACTIVE, **lookup):
            # Network reads (a mention's text) happen here, before any transaction is open.
            work.append((channel, actions.enrich_entries(channel, entries)))
    stored = 0
    try:
        with transaction.atomic():
            # The delivery's digest and its items commit together: a crash keeps neither, so
            # Meta's retry of the same body is stored then, not skipped as a replay.
            WebhookDelivery.objects.create(network=network, digest=digest)
            for channel, entries in work:
                stored += actions.ingest(channel=channel, entries=entries, via="webhook").new_items
    except IntegrityError:
        # Two deliveries of the same body at the same moment: the other one stored it.
        return JsonResponse({"stored": 0, "duplicate": True})
    return JsonResponse({"stored": stored, "duplicate": False})


def _subscribe(request: HttpRequest) -> HttpResponse:
    expected = str(getattr(settings, "CHORUS_META_WEBHOOK_VERIFY_TOKEN", "") or "")
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    if mode == "subscribe" and expected and hmac.compare_digest(token, expected):
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    return HttpResponse("Verification failed.", status=403, content_type="text/plain")
