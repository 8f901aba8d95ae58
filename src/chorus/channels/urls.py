from django.urls import path

from chorus.channels import views

app_name = "channels"
urlpatterns = [
    path("w/<slug:slug>/channels/", views.channel_list, name="list"),
    path("w/<slug:slug>/channels/connect/<str:kind>/", views.channel_connect, name="connect"),
    path("w/<slug:slug>/channels/choose/<str:pending_id>/", views.channel_choose, name="choose"),
    path("w/<slug:slug>/channels/<int:channel_id>/check/", views.channel_check, name="check"),
    path("w/<slug:slug>/channels/<int:channel_id>/resume/", views.channel_resume, name="resume"),
    path("w/<slug:slug>/channels/<int:channel_id>/settings/", views.channel_settings, name="settings"),
    path("channels/oauth/<str:kind>/callback/", views.oauth_callback, name="oauth_callback"),
]
