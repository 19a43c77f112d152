from django.contrib import admin
from django.urls import include, path

from leadflow.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("leadflow.intake.urls")),
    path("webhooks/", include("leadflow.webhooks.urls")),
    path("", include("leadflow.transfer.urls")),
    path("", include("leadflow.web.urls")),
]
