"""Real local infrastructure for development and tests: Kafka (KRaft), PostgreSQL, containers."""
