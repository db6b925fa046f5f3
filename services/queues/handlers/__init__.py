"""The queues' handlers: one plain async function per command or event."""
