"""A Canvas emulator for tests: an in-process ``aiohttp.web`` server."""
