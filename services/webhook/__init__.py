"""The webhook service: Meta webhooks, the admin API and the ops console."""
