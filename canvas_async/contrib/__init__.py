"""Integrations with engines that run canvas-async work for you; each is an extra.

Nothing here is imported by ``canvas_async`` itself, so an extra that is not
installed costs nothing.
"""
