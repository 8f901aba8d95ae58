from django.contrib.auth import views as auth_views
from django.urls import path

from chorus.accounts import two_factor_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", two_factor_views.TwoStepLoginView.as_view(), name="login"),
    path("accounts/login/code/", two_factor_views.login_code, name="login_code"),
    path("accounts/two-factor/", two_factor_views.two_factor, name="two_factor"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/change/", views.RevokingPasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/password/reset/", views.ThrottledPasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.RevokingPasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("accounts/profile/", views.profile, name="profile"),
    path("accounts/tokens/", views.api_tokens, name="api_tokens"),
    path("accounts/tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("i18n/language/", views.switch_language, name="switch_language"),
    path("invite/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("workspaces/new/", views.workspace_create, name="workspace_create"),
    path("w/<slug:slug>/settings/", views.workspace_settings, name="workspace_settings"),
    path("w/<slug:slug>/members/", views.members, name="members"),
    path("w/<slug:slug>/security/", two_factor_views.organization_security, name="organization_security"),
    path("w/<slug:slug>/members/invite/", views.member_invite, name="member_invite"),
    path("w/<slug:slug>/members/<int:member_id>/role/", views.member_role, name="member_role"),
    path("w/<slug:slug>/members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path(
        "w/<slug:slug>/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
]
