#!/usr/bin/env bash
# One-shot initialisation of the compose stack (service `init` in docker-compose.yml). Safe to run again:
# every step skips or replaces what is already there.
set -euo pipefail

# 1. the demo silos (a real deployment points C360_CONFIG at its own project and skips this)
if [[ ! -f "${C360_SILOS_DIR}/manifest.json" ]]; then
  c360 generate --people "${DEMO_PEOPLE:-2000}" --out "${C360_SILOS_DIR}"
fi

# 2. the sales silo as the PostgreSQL database the shop runs on (demo schema; rows upserted by primary key)
python - "${C360_SILOS_DIR}/sales/shop.sqlite" <<'PY'
import os
import sys

from c360_devtools.demo.generator import load_sales_into_postgres

counts = load_sales_into_postgres(sys.argv[1], os.environ["C360_SALES_DSN"])
print("sales silo loaded into PostgreSQL:", counts)
PY

# 3. Airflow's metadata database and the one-slot pool every warehouse-writing task runs in
airflow db migrate
airflow pools set c360_warehouse 1 "customer360: DuckDB allows one writer"

# 4. demo logins for the agent console (printed once; change them for anything but a demo)
c360 users demo
