from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "leadflow.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
