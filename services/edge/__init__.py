"""The edge: one public base URL in front of every service (a reverse proxy)."""
