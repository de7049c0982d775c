"""Tenants, accounts, API keys, login tokens and the per-route access policy (issue 10)."""
