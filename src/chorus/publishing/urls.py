from django.urls import path

from chorus.publishing import views

app_name = "publishing"
urlpatterns = [
    path("w/<slug:slug>/posts/", views.target_list, name="targets"),
    path("w/<slug:slug>/posts/new/", views.post_new, name="post_new"),
    path("w/<slug:slug>/targets/<int:target_id>/", views.target_detail, name="target"),
    path("w/<slug:slug>/targets/<int:target_id>/action/", views.target_action, name="target_action"),
]
