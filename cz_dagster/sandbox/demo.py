"""Shared facts of the demo world, so both simulators and `cz sandbox` agree on names, ids and secrets.

The demo MSP ("Demo MSP Pty Ltd", ConnectWise company id ``demo``) has two locations, Adelaide and Melbourne,
each posting to its own Xero organisation named after it. Everything else is generated from ``SEED``.
"""

from __future__ import annotations

import uuid

SEED = 20261125

# ConnectWise side
CW_COMPANY_ID = "demo"
CW_PUBLIC_KEY = "demo-public-key"
CW_PRIVATE_KEY = "demo-private-key"
CW_CLIENT_ID = "2f0c7b1e-cz00-4d6a-9d1e-sandbox00001"
CW_CODEBASE = "v4_6_release/"

# Xero side: one sandbox app
XERO_CLIENT_ID = "CZSANDBOXCLIENTID0000000000000001"
XERO_CLIENT_SECRET = "cz-sandbox-client-secret-not-a-real-one"
XERO_SCOPES = ("offline_access accounting.invoices accounting.payments accounting.settings "
               "accounting.contacts payroll.employees payroll.timesheets payroll.settings")


def org_tenant_id(slug: str) -> str:
    """A Xero organisation's tenantId, stable across restarts of the sandbox."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://sandbox.cz-dagster.local/xero/org/{slug}"))


# tenant slug, and the locations: slug -> (ConnectWise location id, display name, Xero organisation name)
TENANT = "demo"
TENANT_NAME = "Demo MSP Pty Ltd"
LOCATIONS: dict[str, dict] = {
    "adelaide": {"cw_location_id": 11, "name": "Adelaide", "xero_org": "Adelaide",
                 "xero_tenant_id": org_tenant_id("adelaide"), "timezone": "Australia/Adelaide"},
    "melbourne": {"cw_location_id": 12, "name": "Melbourne", "xero_org": "Melbourne",
                  "xero_tenant_id": org_tenant_id("melbourne"), "timezone": "Australia/Melbourne"},
}
DEFAULT_INVOICES_PER_LOCATION = {"adelaide": 150, "melbourne": 130}

# ConnectWise tax codes and the Xero TaxType each one cross-references (the CW "xref" is the Xero TaxType,
# which is how ConnectWise accounting integrations for Xero map them).
CW_TAX_CODES = [
    {"id": 1, "identifier": "GST", "description": "GST 10%", "rate": 0.10, "xref": "OUTPUT"},
    {"id": 2, "identifier": "GST-FREE", "description": "GST free", "rate": 0.0, "xref": "EXEMPTOUTPUT"},
    {"id": 3, "identifier": "EXPORT", "description": "Export sales", "rate": 0.0, "xref": "EXEMPTEXPORT"},
]

# Xero tax rates present in each demo organisation.
XERO_TAX_RATES = [
    {"TaxType": "OUTPUT", "Name": "GST on Income", "Rate": 10.0, "CanApplyToRevenue": True},
    {"TaxType": "INPUT", "Name": "GST on Expenses", "Rate": 10.0, "CanApplyToRevenue": False},
    {"TaxType": "EXEMPTOUTPUT", "Name": "GST Free Income", "Rate": 0.0, "CanApplyToRevenue": True},
    {"TaxType": "EXEMPTEXPENSES", "Name": "GST Free Expenses", "Rate": 0.0, "CanApplyToRevenue": False},
    {"TaxType": "EXEMPTEXPORT", "Name": "GST Free Exports", "Rate": 0.0, "CanApplyToRevenue": True},
    {"TaxType": "BASEXCLUDED", "Name": "BAS Excluded", "Rate": 0.0, "CanApplyToRevenue": True},
]

# Revenue and expense accounts in each demo organisation; the CW GL account numbers match these codes.
XERO_ACCOUNTS = [
    {"Code": "200", "Name": "Sales", "Type": "REVENUE"},
    {"Code": "210", "Name": "Managed Services Revenue", "Type": "REVENUE"},
    {"Code": "220", "Name": "Hardware Sales", "Type": "REVENUE"},
    {"Code": "230", "Name": "Project Services", "Type": "REVENUE"},
    {"Code": "260", "Name": "Other Revenue", "Type": "OTHERINCOME"},
    {"Code": "310", "Name": "Cost of Goods Sold", "Type": "DIRECTCOSTS"},
    {"Code": "400", "Name": "Advertising", "Type": "OVERHEADS"},
    {"Code": "429", "Name": "General Expenses", "Type": "OVERHEADS"},
    {"Code": "090", "Name": "Business Bank Account", "Type": "BANK"},
    {"Code": "610", "Name": "Accounts Receivable", "Type": "CURRENT"},
    {"Code": "800", "Name": "Accounts Payable", "Type": "CURRLIAB"},
]
CW_REVENUE_ACCOUNTS = ["200", "210", "220", "230"]

# Customer companies of the demo MSP (ConnectWise identifiers are short, upper-case-free slugs).
COMPANIES = [
    ("Acacia Dental Group", "acaciadental", "accounts@acaciadental.com.au"),
    ("Barossa Valley Wines Pty Ltd", "barossawines", "ap@barossawines.com.au"),
    ("Coastal Freight Logistics", "coastalfreight", "finance@coastalfreight.com.au"),
    ("Darling Harbour Legal", "darlinglegal", "accounts@darlinglegal.com.au"),
    ("Eyre Peninsula Grain Co", "eyregrain", "admin@eyregrain.com.au"),
    ("Flinders Medical Imaging", "flindersimaging", "billing@flindersimaging.com.au"),
    ("Glenelg Physiotherapy", "glenelgphysio", "reception@glenelgphysio.com.au"),
    ("Hahndorf Hospitality Group", "hahndorfhosp", "accounts@hahndorf.com.au"),
    ("Indigo Architecture Studio", "indigoarch", "studio@indigoarch.com.au"),
    ("Jetty Road Accountants", "jettyaccountants", "ap@jettyroad.com.au"),
    ("Kangaroo Island Tourism", "kitourism", "finance@kitourism.com.au"),
    ("Lygon Street Cafe Collective", "lygoncafes", "accounts@lygoncafes.com.au"),
    ("Murray River Engineering", "murrayeng", "accounts@murrayeng.com.au"),
    ("Norwood Veterinary Clinic", "norwoodvet", "admin@norwoodvet.com.au"),
    ("O'Connell Street Pharmacy", "oconnellpharm", "pharmacy@oconnellst.com.au"),
    ("Port Melbourne Marine Services", "portmelbmarine", "accounts@pmmarine.com.au"),
    ("Queen Victoria Market Traders", "qvmtraders", "office@qvmtraders.com.au"),
    ("Richmond Sports Medicine", "richmondsportsmed", "billing@richmondsm.com.au"),
    ("St Kilda Real Estate", "stkildarealestate", "accounts@stkildare.com.au"),
    ("Torrens Financial Planning", "torrensfp", "admin@torrensfp.com.au"),
    ("Unley Community Health", "unleyhealth", "finance@unleyhealth.org.au"),
    ("Victoria Park Builders", "vicparkbuild", "accounts@vicparkbuilders.com.au"),
    ("Wattle Grove Aged Care", "wattlegrove", "finance@wattlegrove.org.au"),
    ("Xavier College Foundation", "xavierfdn", "foundation@xavier.edu.au"),
    ("Yarra Valley Dairy", "yarradairy", "ap@yarradairy.com.au"),
    ("Zest Catering Co", "zestcatering", "hello@zestcatering.com.au"),
    ("Adelaide Hills Orchards", "ahorchards", "accounts@ahorchards.com.au"),
    ("Brunswick Print & Design", "brunswickprint", "studio@brunswickprint.com.au"),
    ("Carlton Family Law", "carltonlaw", "accounts@carltonlaw.com.au"),
    ("Docklands Fitness Centre", "docklandsfit", "manager@docklandsfit.com.au"),
    ("Elizabeth Manufacturing", "elizabethmfg", "ap@elizabethmfg.com.au"),
    ("Fitzroy Bicycle Works", "fitzroybikes", "shop@fitzroybikes.com.au"),
]
# Which location each company buys from: the first half Adelaide, the second Melbourne, a few from both.
COMPANY_LOCATIONS = {
    ident: (("adelaide",) if i % 3 == 0 else ("melbourne",) if i % 3 == 1 else ("adelaide", "melbourne"))
    for i, (_, ident, _) in enumerate(COMPANIES)
}
# Companies that already exist as contacts in a Xero organisation (matched by name, not created).
PREEXISTING_XERO_CONTACTS = {
    "adelaide": ["Acacia Dental Group", "Glenelg Physiotherapy", "Torrens Financial Planning"],
    "melbourne": ["Lygon Street Cafe Collective", "Richmond Sports Medicine"],
}

# Invoice line catalogue: description, CW GL account (= Xero account code), typical unit price.
LINE_CATALOGUE = [
    ("Managed services agreement - monthly", "210", 1450.00),
    ("Microsoft 365 Business Premium licences", "200", 33.00),
    ("Onsite support (hours)", "230", 165.00),
    ("Remote support (hours)", "230", 145.00),
    ("Firewall subscription renewal", "200", 620.00),
    ("Dell Latitude 5450 laptop", "220", 1899.00),
    ("Network switch 24-port PoE", "220", 749.50),
    ("Backup and disaster recovery - monthly", "210", 395.00),
    ("Project: server migration milestone", "230", 4200.00),
    ("Security awareness training seats", "200", 12.50),
]
