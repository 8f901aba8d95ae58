from django.urls import path

from chorus.publishing import home, template_views, views

app_name = "publishing"
urlpatterns = [
    path("w/<slug:slug>/posts/", views.target_list, name="targets"),
    path("w/<slug:slug>/posts/new/", views.post_new, name="post_new"),
    path("w/<slug:slug>/posts/bulk/", views.posts_bulk, name="posts_bulk"),
    path("w/<slug:slug>/targets/<int:target_id>/fix/", home.fix, name="fix"),
    path("w/<slug:slug>/targets/<int:target_id>/", views.target_detail, name="target"),
    path("w/<slug:slug>/targets/<int:target_id>/action/", views.target_action, name="target_action"),
    path("w/<slug:slug>/targets/<int:target_id>/edit/", views.post_edit, name="post_edit"),
    path("w/<slug:slug>/compose/check/", views.compose_check, name="compose_check"),
    path("w/<slug:slug>/compose/link/", views.link_preview, name="link_preview"),
    path("w/<slug:slug>/templates/", template_views.template_list, name="templates"),
    path("w/<slug:slug>/templates/new/", template_views.template_new, name="template_new"),
    path("w/<slug:slug>/templates/counters/", template_views.template_counters, name="template_counters"),
    path("w/<slug:slug>/writing-rules/", template_views.writing_rules_page, name="writing_rules"),
    path("w/<slug:slug>/writing-rules/save/", template_views.writing_rules_save, name="writing_rules_save"),
    path(
        "w/<slug:slug>/templates/<int:template_id>/edit/", template_views.template_edit, name="template_edit"
    ),
    path(
        "w/<slug:slug>/templates/<int:template_id>/delete/",
        template_views.template_delete,
        name="template_delete",
    ),
    path("w/<slug:slug>/review/", views.review_queue, name="review"),
    path("w/<slug:slug>/review/<int:target_id>/decide/", views.review_decide, name="review_decide"),
]
