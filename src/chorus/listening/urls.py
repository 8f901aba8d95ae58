from django.urls import path

from chorus.listening import views

app_name = "listening"
urlpatterns = [
    path("w/<slug:slug>/listening/", views.home, name="home"),
    path("w/<slug:slug>/listening/insights/", views.insights_page, name="insights"),
    path("w/<slug:slug>/listening/settings/", views.settings_page, name="settings"),
    path("w/<slug:slug>/listening/matches/<int:match_id>/to-inbox/", views.match_to_inbox, name="to_inbox"),
    path("w/<slug:slug>/listening/matches/<int:match_id>/answer/", views.match_answer, name="answer"),
    path("w/<slug:slug>/listening/queries/new/", views.query_new, name="query_new"),
    path("w/<slug:slug>/listening/queries/<int:query_id>/", views.query_edit, name="query_edit"),
    path("w/<slug:slug>/listening/queries/<int:query_id>/delete/", views.query_delete, name="query_delete"),
]
