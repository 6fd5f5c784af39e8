"""Optional integrations, each needing an extra (e.g. ``canvas-async[otel]``)."""
