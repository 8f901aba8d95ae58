from django.urls import path

from chorus.analytics import views

app_name = "analytics"
urlpatterns = [
    path("w/<slug:slug>/analytics/", views.dashboard, name="dashboard"),
    path("w/<slug:slug>/analytics/channels/<int:channel_id>/", views.channel_page, name="channel"),
    path("w/<slug:slug>/analytics/posts/<int:target_id>/", views.post_page, name="post"),
    path("w/<slug:slug>/analytics/campaigns/<int:campaign_id>/", views.campaign_page, name="campaign"),
    path("w/<slug:slug>/analytics/settings/", views.analytics_settings, name="settings"),
    path("w/<slug:slug>/analytics/reports/", views.report_builder, name="reports"),
    path("w/<slug:slug>/analytics/reports/manage/", views.reports_manage, name="reports_manage"),
    path("w/<slug:slug>/analytics/reports/export/", views.report_export, name="export"),
    path("shared/reports/<str:token>/", views.shared_report, name="shared"),
]
