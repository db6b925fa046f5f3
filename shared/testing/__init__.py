"""Test fixtures that start real Kafka and Postgres (never mocks)."""
