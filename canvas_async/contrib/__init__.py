"""Optional integrations, each an extra: engines that run canvas-async work for
you (``temporal``), and tracing and metrics (``otel``).

Nothing here is imported by ``canvas_async`` itself, so an extra that is not
installed costs nothing.
"""

# Each integration is a submodule, imported by name where its extra is installed.
__all__: list[str] = []
