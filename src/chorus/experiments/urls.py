from django.urls import path

from chorus.experiments import views

app_name = "experiments"
urlpatterns = [
    path("w/<slug:slug>/experiments/", views.experiment_list, name="list"),
    path("w/<slug:slug>/experiments/new/", views.experiment_new, name="new"),
    path("w/<slug:slug>/experiments/<int:experiment_id>/", views.experiment_detail, name="detail"),
    path(
        "w/<slug:slug>/experiments/<int:experiment_id>/<str:action>/",
        views.experiment_action,
        name="action",
    ),
]
