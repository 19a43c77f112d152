from django.urls import path

from leadflow.transfer import views

urlpatterns = [
    path("import/", views.home, name="import_home"),
    path("import/<int:pk>/", views.job_page, name="import_job"),
    path("import/<int:pk>/progress/", views.job_progress, name="import_progress"),
    path("import/<int:pk>/errors.csv", views.job_errors, name="import_errors"),
    path("export/<slug:kind>.csv", views.export_records, name="export_records"),
    path("spend/", views.spend_page, name="spend"),
]
