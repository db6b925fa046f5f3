"""Printing vocabulary shared by the services, the gateway protocol and the agent."""
