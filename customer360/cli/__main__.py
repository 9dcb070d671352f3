"""`python -m customer360.cli`: the same as `c360` (the console starts erasures this way)."""

from customer360.cli import main

main()
