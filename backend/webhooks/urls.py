"""URL patterns of the webhooks app: ``api_urlpatterns`` under ``/api/v1/``, ``urlpatterns``
for its page."""

from django.urls import path

from backend.webhooks import api, views

api_urlpatterns = [
    path(
        "projects/<slug:slug>/webhooks", api.ProjectWebhooksView.as_view(), name="project-webhooks"
    ),
    path("webhooks/<int:webhook_id>", api.WebhookDetailView.as_view(), name="webhook-detail"),
    path("webhooks/<int:webhook_id>/test", api.WebhookTestView.as_view(), name="webhook-test"),
    path(
        "webhooks/<int:webhook_id>/deliveries",
        api.WebhookDeliveriesView.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver",
        api.DeliveryRedeliverView.as_view(),
        name="webhook-redeliver",
    ),
]

app_name = "webhooks"
urlpatterns = [
    path("webhooks/", views.webhooks_page, name="page"),
    path("webhooks/<int:webhook_id>/", views.webhook_page, name="detail"),
]
