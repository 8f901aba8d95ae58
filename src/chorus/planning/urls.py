from django.urls import path

from chorus.planning import slot_views, views

app_name = "planning"
urlpatterns = [
    path("w/<slug:slug>/calendar/", views.calendar_page, name="calendar"),
    path("w/<slug:slug>/calendar/events/", views.events_json, name="events"),
    path("w/<slug:slug>/calendar/targets/<int:target_id>/move/", views.move, name="move"),
    path("w/<slug:slug>/calendar/feeds/new/", views.feed_issue, name="feed_issue"),
    path("w/<slug:slug>/calendar/feeds/<int:feed_id>/revoke/", views.feed_revoke, name="feed_revoke"),
    path("w/<slug:slug>/queue/", slot_views.queue_overview, name="queue"),
    path("w/<slug:slug>/queue/<int:channel_id>/", slot_views.channel_slots, name="channel_slots"),
    path("ical/<str:token>.ics", views.ical_feed, name="ical_feed"),
]
