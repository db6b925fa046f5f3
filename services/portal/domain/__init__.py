"""The portal's domain: browser sessions."""
