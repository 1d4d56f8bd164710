"""Inbound webhooks: a URL and secret per source, HMAC check, JSON-path mapping to messages."""
