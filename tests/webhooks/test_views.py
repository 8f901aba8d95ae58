from __future__ import annotations

from chorus.webhooks.models import Endpoint


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(cast, receiver):
    client = cast.client_for(cast.members["admin"])
    url = f"/w/{cast.workspace.slug}/webhooks/"
    response = client.post(url, {"url": receiver.url, "event_types": ["post.published", "post.failed"]})
    assert response.status_code == 200
    page = response.content.decode()
    endpoint = Endpoint.objects.get(workspace=cast.workspace)
    assert endpoint.event_types == ["post.failed", "post.published"]
    assert "whsec_" in page
    assert "whsec_" not in client.get(url).content.decode()


def test_a_private_address_is_refused_with_the_reason(cast, settings):
    settings.CHORUS_ALLOW_PRIVATE_URLS = False
    client = cast.client_for(cast.owner)
    response = client.post(
        f"/w/{cast.workspace.slug}/webhooks/", {"url": "http://10.0.0.1/x", "event_types": ["post.failed"]}
    )
    assert "is not a public address" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_editors_cannot_manage_webhooks(cast):
    assert (
        cast.client_for(cast.members["editor"]).get(f"/w/{cast.workspace.slug}/webhooks/").status_code == 403
    )
