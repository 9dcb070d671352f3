"""customer360's development tools, kept out of the shipped product: the demo silos generator and the helpdesk
API stand-in (`demo/`), the benchmarks (`bench`, `console_bench`) and the synthetic snapshot they load-test
(`synthetic_snapshot`). Installed from the repository by `make setup` (a uv workspace member); they add the
commands `c360 generate`, `c360 demo`, `c360 bench` and `c360 bench-console` (`cli.py`)."""
