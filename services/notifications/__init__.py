"""Notifications: tenants' HTTPS endpoints hear about jobs, printers, supplies, quotas and
claimed devices as webhooks signed per the Standard Webhooks specification."""
