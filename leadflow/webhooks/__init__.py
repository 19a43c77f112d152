"""Outbound webhooks: signed JSON POSTs of leadflow's events to the URLs admins subscribe.

- `models`: `Webhook` (URL, secret, events wanted) and `WebhookDelivery` (one event to one
  webhook: status, attempts, the receiver's last answer) — the delivery log.
- `outbox`: the notify fan-out queues a delivery per subscribed webhook in the transaction that
  marks the outbox event processed.
- `delivery`: the worker's step that POSTs due deliveries, with retries and backoff.
- `signing`: the signature and the receiver's verification recipe.
- `actions`: every change to webhooks and deliveries (create, change, delete, replay).
- `access`: who may see and manage webhooks (admins).
"""
