from django.urls import path

from chorus.inbox import views, webhooks

app_name = "inbox"
urlpatterns = [
    path("w/<slug:slug>/inbox/", views.inbox_page, name="list"),
    path("w/<slug:slug>/inbox/views/", views.save_view, name="save_view"),
    path("w/<slug:slug>/inbox/views/<int:view_id>/delete/", views.delete_view, name="delete_view"),
    path("w/<slug:slug>/inbox/settings/", views.settings_page, name="settings"),
    path("w/<slug:slug>/inbox/<int:conversation_id>/", views.conversation_page, name="conversation"),
    path("w/<slug:slug>/inbox/<int:conversation_id>/composing/", views.composing, name="composing"),
    path("w/<slug:slug>/inbox/<int:conversation_id>/reply/", views.reply, name="reply"),
    path("w/<slug:slug>/inbox/<int:conversation_id>/triage/", views.triage, name="triage"),
    path("w/<slug:slug>/inbox/replies/<int:reply_id>/decide/", views.decide_reply, name="decide"),
    path("w/<slug:slug>/inbox/replies/<int:reply_id>/delete/", views.delete_reply, name="delete_reply"),
    path("w/<slug:slug>/inbox/items/<int:item_id>/moderate/", views.moderate, name="moderate"),
    path("hooks/meta/<str:network>/", webhooks.meta_webhook, name="meta_webhook"),
]
