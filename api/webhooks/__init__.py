"""Alerts and signed webhooks: alerts from session verdicts, subscriptions, durable deliveries."""
