"""Quartz cron internals; the public face is :mod:`canvas_async.schedule`."""
