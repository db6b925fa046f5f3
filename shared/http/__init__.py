"""HTTP plumbing: app factory, problem+json, correlation ids, authentication hook."""
