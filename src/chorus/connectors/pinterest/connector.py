"""Pinterest: our domain <-> the Pinterest API v5 (one image pin per target, on a chosen board).

channel.config      {username, boards: [{id, name}]}  (boards refreshed by `check`)
channel.credentials {access_token, refresh_token, expires_at, refresh_expires_at}
target.options      {"board_id" (required), "title", "link", "image_url" (instead of a file)}
The pin's description is the target text; the image is the one media file (sent base64) or a
public `image_url` Pinterest fetches itself.
No LOOKUP: Pinterest has no search of one's own pins by content; listing a board's pins is
possible but a pin has no field that could carry our marker reliably.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from chorus.connectors.base import (
    ConnectRedirect,
    ConnectResult,
    ContentRejected,
    Feature,
    Problem,
    PublishResult,
)
from chorus.connectors.oauth2 import (
    OAuth2Connector,
    checked_link,
    media_bytes,
    media_size,
    media_type,
    token_credentials,
)
from chorus.connectors.pinterest.client import PinterestAPI, base64_source
from chorus.core import http

if TYPE_CHECKING:
    from chorus.content.models import PostTarget

IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/bmp", "image/tiff"}
MAX_IMAGE_BYTES = 20 * 1024 * 1024
TITLE_MAX = 100
LINK_MAX = 2048
METRICS = {
    "impressions": "IMPRESSION",
    "saves": "SAVE",
    "clicks": "PIN_CLICK",
    "outbound_clicks": "OUTBOUND_CLICK",
}


class PinterestConnector(OAuth2Connector):
    kind = "pinterest"
    label = "Pinterest"
    network = "pinterest"
    api_class = PinterestAPI
    features = frozenset({Feature.METRICS, Feature.DELETE})
    max_text_length = 800  # description
    max_images = 1
    idempotent = False
    setup_steps = _(
        "Create an app at developers.pinterest.com (a business account is needed), add the redirect "
        "URI /channels/oauth/pinterest/callback/, request Standard access to create public pins, "
        "then set PINTEREST_CLIENT_ID (the app id) and PINTEREST_CLIENT_SECRET."
    )

    @classmethod
    def begin_connect(cls, data: dict[str, Any], *, callback_url: str, state: str) -> ConnectRedirect:
        client_id, _secret = cls.app()
        return ConnectRedirect(url=PinterestAPI.authorize_url(client_id, callback_url, state), state_data={})

    @classmethod
    def finish_connect(
        cls, params: dict[str, str], *, state_data: dict[str, Any], callback_url: str
    ) -> ConnectResult:
        code = cls.authorization_code(params, "Pinterest")
        token = cls.exchange_code(code, callback_url)
        api = PinterestAPI(token["access_token"])
        account = api.user_account()
        return ConnectResult(
            name=str(account["username"]),
            config={"username": account["username"], "boards": _boards(api)},
            credentials=token_credentials(token),
            account_id=str(account["username"]),  # user_account gives no numeric id
        )

    def api(self) -> PinterestAPI:
        return PinterestAPI(self.access_token())

    def check(self) -> str:
        api = self.api()
        account = api.user_account()
        self.channel.config = {**self.channel.config, "boards": _boards(api)}
        self.channel.save(update_fields=["config"])
        boards = len(self.channel.config["boards"])
        message = ngettext(
            "%(account)s on Pinterest (%(boards)s board)",
            "%(account)s on Pinterest (%(boards)s boards)",
            boards,
        )
        return message % {"account": account["username"], "boards": boards}

    # --- validation -------------------------------------------------------------------
    def validate(self, target: PostTarget) -> list[Problem]:
        problems = super().validate(target)
        options = target.options
        board = str(options.get("board_id") or "")
        boards = {str(b["id"]) for b in self.channel.config.get("boards") or []}
        if not board:
            problems.append(
                Problem("options.board_id", gettext("Choose the Pinterest board to pin to."), "required")
            )
        elif boards and board not in boards:
            problems.append(
                Problem(
                    "options.board_id", gettext("This board is not one of the account's boards."), "board"
                )
            )
        if len(str(options.get("title") or "")) > TITLE_MAX:
            problems.append(
                Problem("options.title", gettext("A pin title has at most 100 characters."), "too_long")
            )
        link = str(options.get("link") or "")
        if link and (len(link) > LINK_MAX or not link.startswith(("http://", "https://"))):
            problems.append(
                Problem(
                    "options.link",
                    gettext("The pin link must be an http(s) URL of at most 2,048 characters."),
                    "link",
                )
            )
        has_url = bool(options.get("image_url"))
        if len(target.media) + has_url != 1:
            problems.append(
                Problem("media", gettext("A pin has exactly one image (a file or an image URL)."), "image")
            )
        for index, item in enumerate(target.media):
            if media_type(item) not in IMAGE_TYPES:
                problems.append(
                    Problem(
                        f"media.{index}", gettext("Pinterest accepts JPEG, PNG, WebP, BMP or TIFF."), "type"
                    )
                )
            size = media_size(item)
            if size is not None and size > MAX_IMAGE_BYTES:
                problems.append(
                    Problem(f"media.{index}", gettext("Pinterest images are at most 20 MB."), "too_large")
                )
        return problems

    # --- publishing -------------------------------------------------------------------
    def publish(self, target: PostTarget) -> PublishResult:
        options = target.options
        payload: dict[str, Any] = {"board_id": str(options["board_id"]), "description": target.text}
        if options.get("title"):
            payload["title"] = options["title"]
        if options.get("link"):
            payload["link"] = options["link"]
        if target.media:
            item = target.media[0]
            payload["media_source"] = base64_source(media_bytes(item), media_type(item))
            if item.get("alt"):
                payload["alt_text"] = item["alt"][:500]
        else:
            try:
                url = checked_link(str(options["image_url"]))
            except http.UnsafeURL as exc:
                raise ContentRejected(
                    gettext("Chorus will not send %(url)s to %(network)s: %(error)s")
                    % {"url": options["image_url"], "network": "Pinterest", "error": exc}
                ) from exc
            payload["media_source"] = {"source_type": "image_url", "url": url}
        pin = self.api().create_pin(payload)
        return PublishResult(
            external_id=str(pin["id"]),
            url=f"https://www.pinterest.com/pin/{pin['id']}/",
            published_at=timezone.now(),
        )

    # --- metrics and delete -----------------------------------------------------------
    def post_metrics(self, target: PostTarget) -> dict[str, int | None]:
        summary = self.api().pin_analytics(target.external_id, list(METRICS.values()))
        return {
            ours: int(summary[theirs]) for ours, theirs in METRICS.items() if summary.get(theirs) is not None
        }

    def account_metrics(self) -> dict[str, int | None]:
        account = self.api().user_account()
        mapping = {
            "followers": "follower_count",
            "following": "following_count",
            "posts": "pin_count",
            "views": "monthly_views",
        }
        return {
            ours: int(account[theirs]) for ours, theirs in mapping.items() if account.get(theirs) is not None
        }

    def delete(self, target: PostTarget) -> None:
        self.api().delete_pin(target.external_id)


def _boards(api: PinterestAPI) -> list[dict[str, str]]:
    return [{"id": str(board["id"]), "name": str(board.get("name", ""))} for board in api.boards()]
