"""The web portal: server-rendered pages for people, on the public API."""
