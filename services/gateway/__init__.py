"""gateway: the websocket endpoint every printer and connector keeps open."""
