"""Read models a service keeps, in its own schema, of another service's entities."""
