"""The device agent: a printer (simulated, or a real one bridged over IPP) or a
connector for many printers, holding one websocket to the gateway."""
