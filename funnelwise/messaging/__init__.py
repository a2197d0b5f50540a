"""Messaging: consent and subscriptions today; templates, channels and sending follow."""
