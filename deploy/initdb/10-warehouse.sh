#!/bin/bash
# The tourlink warehouse: a database and role of its own beside Airflow's metadata (same password).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE tourlink LOGIN PASSWORD '${POSTGRES_PASSWORD}';
CREATE DATABASE tourlink OWNER tourlink;
SQL
