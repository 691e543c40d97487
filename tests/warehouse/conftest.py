"""The warehouse tests use `warehouse` / `warehouse_url` from tests/conftest.py: every test runs on
embedded SQLite and on a real PostgreSQL schema."""
