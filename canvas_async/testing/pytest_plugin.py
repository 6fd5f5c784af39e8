"""pytest fixtures for testing code that talks to Canvas."""
