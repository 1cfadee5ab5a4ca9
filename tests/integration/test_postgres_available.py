"""Smoke test of the PostgreSQL test set-up (tests/pg.py, conftest ``postgres_url``)."""

from __future__ import annotations

from tests.pg import split_schema


def test_postgres_url_gives_a_fresh_usable_schema(postgres_url: str) -> None:
    import psycopg

    conninfo, schema = split_schema(postgres_url)
    assert schema is not None and schema.startswith("t_")
    with psycopg.connect(conninfo, options=f"-csearch_path={schema}", autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.execute(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", (schema,)
        ).fetchone() == (1,)
        # The schema is first on the search path and empty: unqualified names land in it.
        assert conn.execute("SELECT current_schema()").fetchone() == (schema,)
        conn.execute("CREATE TABLE probe (n int)")
        conn.execute("INSERT INTO probe VALUES (42)")
        assert conn.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'probe'"
            " AND table_schema = %s",
            (schema,),
        ).fetchone() == (schema,)
