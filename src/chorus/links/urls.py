from django.urls import path

from chorus.links import views

app_name = "links"
urlpatterns = [
    path("l/<str:code>", views.redirect_view, name="redirect"),
    path("w/<slug:slug>/links/", views.links_page, name="list"),
    path("w/<slug:slug>/links/settings/", views.settings_page, name="settings"),
    path("w/<slug:slug>/links/shorten/<int:target_id>/", views.shorten_target, name="shorten"),
    path("w/<slug:slug>/campaigns/", views.campaign_list, name="campaigns"),
    path("w/<slug:slug>/campaigns/new/", views.campaign_create, name="campaign_new"),
    path("w/<slug:slug>/campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign"),
    path("w/<slug:slug>/campaigns/<int:campaign_id>/edit/", views.campaign_edit, name="campaign_edit"),
    path("w/<slug:slug>/campaigns/<int:campaign_id>/delete/", views.campaign_delete, name="campaign_delete"),
]
