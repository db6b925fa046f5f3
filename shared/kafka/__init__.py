"""Kafka plumbing: the topic table, the producer, the consumer loop, topic admin."""
