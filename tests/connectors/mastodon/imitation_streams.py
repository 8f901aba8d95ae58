"""Part of the Mastodon imitation (PyPI `mastodon_mock`), not of Chorus: since Mastodon 4.2 the
public and hashtag streams need a user token ("changed to require a User token, removing Public
and App token access", the streaming API's version history, mastodon/mastodon#23989).
`mastodon_mock` serves them to anyone, so its app gets these routes in front of its own: the same
Server-Sent-Events stream (`event: update` / `data: <Status JSON>`, `:thump` heartbeats) behind
the imitation's own authenticated-user check (401 without a valid user token).

No `from __future__ import annotations` here: FastAPI reads the handlers' annotations at runtime.
"""

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse
from mastodon_mock.deps import RequiredAccount
from mastodon_mock.routers import streaming as mock_streaming

router = APIRouter()


@router.get("/api/v1/streaming/public")
async def stream_public(request: Request, account: RequiredAccount) -> StreamingResponse:
    return mock_streaming._stream(request, mock_streaming._require_streaming(request), "public")


@router.get("/api/v1/streaming/hashtag")
async def stream_hashtag(request: Request, tag: str, account: RequiredAccount) -> StreamingResponse:
    bus = mock_streaming._require_streaming(request)
    return mock_streaming._stream(request, bus, mock_streaming.hashtag_channel(tag))


def require_user_token_on_public_streams(app: FastAPI) -> Any:
    app.router.routes[0:0] = router.routes
    return app
