from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "leadflow.scoring"
    label = "scoring"
    verbose_name = "Lead definition and scoring"

    def ready(self) -> None:
        from leadflow.scoring import signals  # noqa: F401  (connects the receivers)
