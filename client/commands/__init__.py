"""The user commands, one module per command group; ``client.cli.user_commands``
adds them to the ``printcloud`` app."""
