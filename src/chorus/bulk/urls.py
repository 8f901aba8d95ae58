from django.urls import path

from chorus.bulk import views

app_name = "bulk"
urlpatterns = [
    path("w/<slug:slug>/import/", views.import_page, name="import"),
    path("w/<slug:slug>/import/<int:job_id>/", views.job_page, name="job"),
    path("w/<slug:slug>/import/<int:job_id>/commit/", views.job_commit, name="commit"),
    path("w/<slug:slug>/import/<int:job_id>/errors.csv", views.job_bad_rows, name="bad_rows"),
    path("w/<slug:slug>/export/", views.export, name="export"),
]
