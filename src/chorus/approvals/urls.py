from django.urls import path

from chorus.approvals import intake_views, views

app_name = "approvals"
urlpatterns = [
    path("w/<slug:slug>/approvals/", views.pending, name="pending"),
    path("w/<slug:slug>/approvals/digest/", views.digest, name="digest"),
    path("w/<slug:slug>/approvals/targets/<int:target_id>/", views.target_page, name="target"),
    path("w/<slug:slug>/approvals/targets/<int:target_id>/decide/", views.decide, name="decide"),
    path("w/<slug:slug>/approvals/targets/<int:target_id>/links/", views.link_issue, name="link_issue"),
    path("w/<slug:slug>/approvals/targets/<int:target_id>/comments/", views.comment_add, name="comment_add"),
    path("w/<slug:slug>/approvals/targets/<int:target_id>/assign/", views.assign, name="assign"),
    path("w/<slug:slug>/my-work/", views.my_work, name="my_work"),
    path("w/<slug:slug>/approvals/links/<int:link_id>/revoke/", views.link_revoke, name="link_revoke"),
    path("w/<slug:slug>/approvals/workflows/", views.workflow_list, name="workflows"),
    path("w/<slug:slug>/approvals/workflows/new/", views.workflow_edit, name="workflow_new"),
    path("w/<slug:slug>/approvals/workflows/<int:workflow_id>/", views.workflow_edit, name="workflow_edit"),
    path(
        "w/<slug:slug>/approvals/workflows/<int:workflow_id>/delete/",
        views.workflow_delete,
        name="workflow_delete",
    ),
    path("w/<slug:slug>/audit/", views.audit_log, name="audit"),
    path("w/<slug:slug>/intake/", intake_views.queue, name="intake"),
    path("w/<slug:slug>/intake/invite/", intake_views.invite, name="intake_invite"),
    path("w/<slug:slug>/intake/<int:story_id>/", intake_views.story, name="story"),
    path(
        "w/<slug:slug>/intake/contributors/<int:contributor_id>/",
        intake_views.contributor,
        name="contributor",
    ),
    path(
        "w/<slug:slug>/intake/contributors/<int:contributor_id>/revoke/",
        intake_views.contributor_revoke,
        name="contributor_revoke",
    ),
    path("contribute/<str:token>/", intake_views.contribute, name="contribute"),
    path("review/<str:token>/", views.outside_review, name="outside_review"),
    path("review/<str:token>/media/<int:index>/", views.outside_media, name="outside_media"),
]
