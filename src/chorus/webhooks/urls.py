from django.urls import path

from chorus.webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("w/<slug:slug>/webhooks/", views.endpoint_list, name="list"),
    path("w/<slug:slug>/webhooks/<int:endpoint_id>/", views.endpoint_detail, name="detail"),
]
