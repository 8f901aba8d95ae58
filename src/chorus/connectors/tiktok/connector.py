"""TikTok: our domain <-> the Content Posting API (direct post of one video).

channel.config      {open_id, display_name, audited: bool}
channel.credentials {access_token, refresh_token, expires_at, refresh_expires_at}
target.options      {"privacy": PUBLIC_TO_EVERYONE | MUTUAL_FOLLOW_FRIENDS | FOLLOWER_OF_CREATOR |
                     SELF_ONLY, "disable_comment", "disable_duet", "disable_stitch": bool,
                     "cover_ms": int}

Until TikTok audits the app, every post from it is private (SELF_ONLY) and the creator account
must be private: `audited` (from TIKTOK_AUDITED at connect time) false forces SELF_ONLY.
No LOOKUP: the Content Posting API can only be asked about a publish_id, which a timed-out init
never returned, and private posts are absent from the video list.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chorus.connectors.base import (
    ConnectRedirect,
    ConnectResult,
    ContentRejected,
    Feature,
    Problem,
    PublishResult,
    Quota,
)
from chorus.connectors.oauth2 import OAuth2Connector, media_bytes, media_size, media_type, token_credentials
from chorus.connectors.probe import probe
from chorus.connectors.tiktok.client import TikTokAPI

if TYPE_CHECKING:
    from chorus.content.models import PostTarget

PRIVACY = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
VIDEO_TYPES = {"video/mp4", "video/quicktime", "video/webm"}
MAX_BYTES = 4 * 1024**3
SECONDS = (3.0, 600.0)  # the creator's own maximum (creator_info) is checked at publish time
STATUS_POLL_ATTEMPTS = 20
STATUS_POLL_INTERVAL = 3.0
TITLE_MAX = 2200


class TikTokConnector(OAuth2Connector):
    kind = "tiktok"
    label = "TikTok"
    network = "tiktok"
    api_class = TikTokAPI
    features = frozenset({Feature.VIDEO, Feature.METRICS})
    max_text_length = TITLE_MAX  # the caption ("title"), hashtags and mentions included
    max_concurrency = 2
    # TikTok caps direct posts per creator per day (about 15, varying by account).
    quotas = (Quota("posts", 15, dt.timedelta(hours=24)),)
    idempotent = False
    setup_steps = _(
        "Create an app at developers.tiktok.com with Login Kit and the Content Posting API (Direct "
        "Post enabled), add the redirect URI /channels/oauth/tiktok/callback/, then set "
        "TIKTOK_CLIENT_ID (the client key) and TIKTOK_CLIENT_SECRET. Until TikTok audits the app, "
        "posts are private (only the creator sees them) and the account must be private; set "
        "TIKTOK_AUDITED=true once the audit passes, then reconnect."
    )

    @classmethod
    def begin_connect(cls, data: dict[str, Any], *, callback_url: str, state: str) -> ConnectRedirect:
        client_key, _secret = cls.app()
        return ConnectRedirect(url=TikTokAPI.authorize_url(client_key, callback_url, state), state_data={})

    @classmethod
    def finish_connect(
        cls, params: dict[str, str], *, state_data: dict[str, Any], callback_url: str
    ) -> ConnectResult:
        code = cls.authorization_code(params, "TikTok")
        token = cls.exchange_code(code, callback_url)
        user = TikTokAPI(token["access_token"]).user()
        audited = bool(getattr(settings, "CHORUS_TIKTOK_AUDITED", False))
        return ConnectResult(
            name=str(user.get("display_name") or token.get("open_id")),
            config={
                "open_id": user.get("open_id") or token.get("open_id"),
                "display_name": user.get("display_name"),
                "audited": audited,
            },
            credentials=token_credentials(token),
            account_id=str(user.get("open_id") or token.get("open_id") or ""),
        )

    def api(self) -> TikTokAPI:
        return TikTokAPI(self.access_token())

    def check(self) -> str:
        return gettext("%(account)s on %(network)s") % {
            "account": self.api().user().get("display_name"),
            "network": "TikTok",
        }

    @property
    def audited(self) -> bool:
        return bool(self.channel.config.get("audited", False))

    def privacy(self, target: PostTarget) -> str:
        return str(target.options.get("privacy") or "PUBLIC_TO_EVERYONE") if self.audited else "SELF_ONLY"

    # --- validation -------------------------------------------------------------------
    def validate(self, target: PostTarget) -> list[Problem]:
        problems = super().validate(target)
        if target.options.get("privacy") and target.options["privacy"] not in PRIVACY:
            problems.append(Problem("options.privacy", gettext("Unknown TikTok privacy level."), "privacy"))
        if len(target.media) != 1 or media_type(target.media[0]) not in VIDEO_TYPES:
            problems.append(
                Problem("media", gettext("A TikTok post is exactly one video (MP4, MOV or WebM)."), "video")
            )
            return problems
        item = target.media[0]
        size = media_size(item)
        if size is not None and size > MAX_BYTES:
            problems.append(Problem("media.0", gettext("TikTok accepts videos up to 4 GB."), "too_large"))
        facts = probe(item["path"])
        if facts and facts.duration is not None and not SECONDS[0] <= facts.duration <= SECONDS[1]:
            problems.append(
                Problem("media.0", gettext("TikTok videos last from 3 seconds to 10 minutes."), "duration")
            )
        if facts and facts.width and facts.height and min(facts.width, facts.height) < 360:
            problems.append(
                Problem("media.0", gettext("TikTok needs at least 360 pixels on each side."), "resolution")
            )
        return problems

    # --- publishing -------------------------------------------------------------------
    def publish(self, target: PostTarget) -> PublishResult:
        api, options = self.api(), target.options
        privacy = self.privacy(target)
        creator = api.creator_info()
        if privacy not in creator.get("privacy_level_options", [privacy]):
            raise ContentRejected(
                gettext("This TikTok account cannot post with privacy %(privacy)s.") % {"privacy": privacy}
            )
        post_info: dict[str, Any] = {
            "title": target.text,
            "privacy_level": privacy,
            "disable_duet": bool(options.get("disable_duet", False)),
            "disable_comment": bool(options.get("disable_comment", False) or creator.get("comment_disabled")),
            "disable_stitch": bool(options.get("disable_stitch", False)),
            "video_cover_timestamp_ms": int(options.get("cover_ms", 1000)),
        }
        item = target.media[0]
        content = media_bytes(item)
        init = api.init_video(post_info, len(content))
        api.upload(
            init["upload_url"], content, init["chunk_size"], init["total_chunk_count"], media_type(item)
        )
        publish_id = str(init["publish_id"])
        status = self._wait(api, publish_id)
        post_ids = status.get("publicaly_available_post_id") or []  # sic: TikTok's spelling
        external = str(post_ids[0]) if post_ids else publish_id
        url = (
            f"https://www.tiktok.com/@{self.channel.config.get('display_name', '')}/video/{external}"
            if post_ids
            else ""
        )
        return PublishResult(
            external_id=external,
            url=url,
            published_at=timezone.now(),
            extra={"publish_id": publish_id, "status": status.get("status"), "privacy": privacy},
        )

    def _wait(self, api: TikTokAPI, publish_id: str) -> dict[str, Any]:
        """Polls the publish until TikTok finishes (or fails) processing. A publish still
        processing after the polls is accepted: TikTok completes it on its side."""
        status: dict[str, Any] = {}
        for attempt in range(STATUS_POLL_ATTEMPTS):
            status = api.publish_status(publish_id)
            if status.get("status") == "FAILED":
                if not status.get("fail_reason"):
                    raise ContentRejected(gettext("TikTok could not publish the video."))
                raise ContentRejected(
                    gettext("TikTok could not publish the video: %(reason)s")
                    % {"reason": status["fail_reason"]}
                )
            if status.get("status") == "PUBLISH_COMPLETE":
                break
            if attempt < STATUS_POLL_ATTEMPTS - 1:
                time.sleep(STATUS_POLL_INTERVAL)
        return status

    # --- metrics ----------------------------------------------------------------------
    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        if not target.external_id.isdigit():
            return {}  # a private post has only a publish_id: TikTok gives it no metrics
        videos = self.api().videos([target.external_id])
        video = videos[0] if videos else {}
        mapping = {
            "views": "view_count",
            "likes": "like_count",
            "comments": "comment_count",
            "shares": "share_count",
        }
        return {ours: int(video[theirs]) for ours, theirs in mapping.items() if video.get(theirs) is not None}

    def account_metrics(self) -> dict[str, int | None]:
        user = self.api().user()
        mapping = {
            "followers": "follower_count",
            "following": "following_count",
            "likes": "likes_count",
            "posts": "video_count",
        }
        return {ours: int(user[theirs]) for ours, theirs in mapping.items() if user.get(theirs) is not None}
