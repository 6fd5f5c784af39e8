"""``python -m canvas_async.cli``: the ``canvas-async`` command."""

from canvas_async.cli import main

raise SystemExit(main())
