from django.urls import path

from leadflow.webhooks import views

urlpatterns = [
    path("", views.webhook_list, name="webhook_list"),
    path("<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("<int:pk>/active/", views.webhook_active, name="webhook_active"),
    path(
        "deliveries/<int:pk>/replay/", views.delivery_replay, name="webhook_delivery_replay"
    ),
]
