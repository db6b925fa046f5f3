"""The auth service: users, API tokens, access tokens (JWT) and device credentials."""
