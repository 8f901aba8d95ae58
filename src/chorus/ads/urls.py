from django.urls import path

from chorus.ads import meta_login, views

app_name = "ads"
urlpatterns = [
    path("w/<slug:slug>/ads/", views.boost_list, name="list"),
    path("w/<slug:slug>/ads/accounts/", views.accounts_page, name="accounts"),
    path("w/<slug:slug>/ads/accounts/meta/connect/", meta_login.meta_connect, name="meta_connect"),
    path(
        "w/<slug:slug>/ads/accounts/meta/choose/<str:pending_id>/", meta_login.meta_choose, name="meta_choose"
    ),
    path("ads/oauth/meta/callback/", meta_login.meta_callback, name="meta_callback"),
    path("w/<slug:slug>/ads/accounts/<int:account_id>/targeting/", views.targeting_search, name="targeting"),
    path("w/<slug:slug>/ads/accounts/<int:account_id>/estimate/", views.reach_estimate, name="estimate"),
    path("w/<slug:slug>/ads/boost/<int:target_id>/", views.boost_new, name="boost_new"),
    path("w/<slug:slug>/ads/boosts/<int:boost_id>/", views.boost_detail, name="boost"),
    path("w/<slug:slug>/ads/boosts/<int:boost_id>/change/", views.boost_change, name="boost_change"),
    path("w/<slug:slug>/ads/boosts/<int:boost_id>/decide/", views.boost_decide, name="boost_decide"),
    path("w/<slug:slug>/ads/boosts/<int:boost_id>/comments/", views.boost_comment, name="boost_comment"),
]
