"""Servers that :mod:`bench.api_speed` measures beside the project: a vanilla strawberry app and the
hand-written floor (Starlette + asyncpg + orjson), both answering the benchmark's two documents with the
same JSON as the project, from the same database.

Each module exposes ``app()``, a factory for ``uvicorn --factory``; the database is ``DATABASE_URL``.
"""
