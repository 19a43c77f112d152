from django.contrib.auth import views as auth_views
from django.urls import include, path

from leadflow.web import (
    views,
    views_arbiter,
    views_dashboard,
    views_inbox,
    views_notifications,
    views_team,
)

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/<int:pk>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/transition/", views.lead_transition, name="lead_transition"),
    path("leads/<int:pk>/activity/", views.lead_activity, name="lead_activity"),
    # The lead definition: versions, editor, sign-off, diff, what-if.
    path("definitions/", include("leadflow.web.views_definitions")),
    # The rep's inbox: one row per offer, decided in place.
    path("inbox/", views_inbox.inbox, name="inbox"),
    path("inbox/<int:pk>/", views_inbox.inbox_offer, name="inbox_offer"),
    path("inbox/<int:pk>/decide/", views_inbox.inbox_decide, name="inbox_decide"),
    # The manager's team view.
    path("team/", views_team.team, name="team"),
    path("team/leads/<int:pk>/reassign/", views_team.reassign, name="team_reassign"),
    path(
        "team/reps/<int:pk>/out-of-office/",
        views_team.out_of_office,
        name="team_out_of_office",
    ),
    # The arbiter's queue.
    path("arbiter/", views_arbiter.queue, name="arbiter_queue"),
    path("arbiter/<int:pk>/decide/", views_arbiter.decide, name="arbiter_decide"),
    # The dashboards: one per audience, the person's own at /dashboard/.
    path("dashboard/", views_dashboard.dashboard_home, name="dashboard_home"),
    path("dashboard/<slug:audience>/", views_dashboard.dashboard, name="dashboard"),
    # The notification centre.
    path("notifications/", views_notifications.centre, name="notifications"),
    path(
        "notifications/<int:pk>/read/",
        views_notifications.mark_read,
        name="notification_read",
    ),
    path(
        "notifications/read-all/",
        views_notifications.mark_all_read,
        name="notifications_read_all",
    ),
    path(
        "notifications/subscriptions/",
        views_notifications.add_subscription,
        name="subscription_add",
    ),
    path(
        "notifications/subscriptions/<int:pk>/delete/",
        views_notifications.delete_subscription,
        name="subscription_delete",
    ),
]
