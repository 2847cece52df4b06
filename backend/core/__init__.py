"""Sans-I/O core: pure functions and small classes. No torch, asyncio or sockets here
(``tests/test_core_imports.py`` keeps it so)."""
