from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "leadflow.reports"
    label = "reports"
    verbose_name = "Reports"
