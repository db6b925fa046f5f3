"""The portal's pages: URL table, sessions and web security, views."""
