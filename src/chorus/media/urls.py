from django.urls import path

from chorus.media import safety_views, views

app_name = "media"
urlpatterns = [
    path("w/<slug:slug>/media/", views.library, name="library"),
    path("w/<slug:slug>/media/picker/", views.picker, name="picker"),
    path("w/<slug:slug>/media/upload/", views.upload, name="upload"),
    path("w/<slug:slug>/media/folders/", views.folder_create, name="folder_create"),
    path("w/<slug:slug>/media/<int:asset_id>/", views.detail, name="detail"),
    path("w/<slug:slug>/media/<int:asset_id>/edit/", views.edit, name="edit"),
    path("w/<slug:slug>/media/<int:asset_id>/delete/", views.delete, name="delete"),
    path("w/<slug:slug>/media/<int:asset_id>/file/", views.file, name="file"),
    path("w/<slug:slug>/media/<int:asset_id>/thumb/", views.thumb, name="thumb"),
    path("w/<slug:slug>/media/<int:asset_id>/consent/", safety_views.consent_action, name="consent"),
    path("w/<slug:slug>/media/<int:asset_id>/faces/", safety_views.face_action, name="faces"),
    path("w/<slug:slug>/media/safety/", safety_views.rules, name="rules"),
]
