"""Demo silos of Kaufhaus Nord GmbH: a deterministic generator and a stand-in helpdesk REST API.

See docs/demo-silos.md. Import what you need from the submodules:

    from customer360.demo.generator import generate_silos, load_sales_into_postgres
    from customer360.demo.helpdesk_api import HelpdeskAPI
"""
