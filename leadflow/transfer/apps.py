from django.apps import AppConfig


class TransferConfig(AppConfig):
    name = "leadflow.transfer"
    verbose_name = "Import, export and backup"
