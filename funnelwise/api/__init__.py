"""The HTTP edge: app factory, authentication and error translation."""
