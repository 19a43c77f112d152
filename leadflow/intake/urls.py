from django.urls import path

from leadflow.intake import views

urlpatterns = [
    path("forms/thanks/", views.thanks, name="intake_thanks"),
    path("forms/rejected/", views.rejected_posts, name="intake_rejected"),
    path("forms/<str:key>", views.form_post, name="intake_form_post"),
    # Salesforce's Web-to-Lead path: an existing form works by changing its action's host.
    path("servlet/servlet.WebToLead", views.salesforce_post, name="intake_salesforce"),
]
