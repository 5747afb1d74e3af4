"""The fleet side (runs on a server, not in a vehicle): `driverwatch fleet ingest` consumes the
vehicles' MQTT telemetry into PostgreSQL, `driverwatch fleet report` summarises it. Needs the
`fleet` extra (psycopg 3, matplotlib)."""
