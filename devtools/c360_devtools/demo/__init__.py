"""Demo silos of Kaufhaus Nord GmbH: a deterministic generator and a stand-in helpdesk REST API.

See docs/demo-silos.md. Import what you need from the submodules:

    from c360_devtools.demo.generator import generate_silos, load_sales_into_postgres
    from c360_devtools.demo.helpdesk_api import HelpdeskAPI
"""
