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

# ---------------------------------------------------------------- added for payments, items, tracking, payroll

# Extra accounts: a second bank account and a clearing liability account that accepts payments (Xero's
# "Enable payments to this account"), so payments can be tested against both kinds of payment account.
XERO_PAYMENT_ACCOUNTS = [
    {"Code": "091", "Name": "Business Savings Account", "Type": "BANK", "BankAccountNumber": "062000987654321"},
    {"Code": "855", "Name": "Payment Clearing", "Type": "CURRLIAB", "EnablePaymentsToAccount": True},
]

# Xero inventory items seeded in every demo organisation (the product mirrors them into the CW catalogue).
# Code, Name, Description, sales price / account, purchase price / account (None = not purchased), tracked.
XERO_ITEMS = [
    {"Code": "MSP-ESS", "Name": "Managed Services - Essentials", "Description": "Managed services plan, per user",
     "SalesDetails": {"UnitPrice": 65.00, "AccountCode": "210", "TaxType": "OUTPUT"}},
    {"Code": "MSP-PRO", "Name": "Managed Services - Professional",
     "Description": "Managed services plan with 24x7 monitoring, per user",
     "SalesDetails": {"UnitPrice": 95.00, "AccountCode": "210", "TaxType": "OUTPUT"}},
    {"Code": "M365-BP", "Name": "Microsoft 365 Business Premium", "Description": "Monthly licence, per user",
     "PurchaseDescription": "M365 Business Premium (distributor)",
     "SalesDetails": {"UnitPrice": 33.00, "AccountCode": "200", "TaxType": "OUTPUT"},
     "PurchaseDetails": {"UnitPrice": 27.50, "AccountCode": "310", "TaxType": "INPUT"}},
    {"Code": "M365-E3", "Name": "Microsoft 365 E3", "Description": "Monthly licence, per user",
     "PurchaseDescription": "M365 E3 (distributor)",
     "SalesDetails": {"UnitPrice": 54.00, "AccountCode": "200", "TaxType": "OUTPUT"},
     "PurchaseDetails": {"UnitPrice": 46.20, "AccountCode": "310", "TaxType": "INPUT"}},
    {"Code": "LAP-DL5450", "Name": "Dell Latitude 5450 laptop", "Description": "Dell Latitude 5450, i7, 16GB, 512GB",
     "PurchaseDescription": "Dell Latitude 5450 (Ingram)", "IsTrackedAsInventory": False,
     "SalesDetails": {"UnitPrice": 1899.00, "AccountCode": "220", "TaxType": "OUTPUT"},
     "PurchaseDetails": {"UnitPrice": 1520.00, "AccountCode": "310", "TaxType": "INPUT"}},
    {"Code": "LAP-HP840", "Name": "HP EliteBook 840 G11 laptop", "Description": "HP EliteBook 840 G11, Ultra 7, 32GB",
     "PurchaseDescription": "HP EliteBook 840 G11 (Dicker Data)",
     "SalesDetails": {"UnitPrice": 2249.00, "AccountCode": "220", "TaxType": "OUTPUT"},
     "PurchaseDetails": {"UnitPrice": 1795.00, "AccountCode": "310", "TaxType": "INPUT"}},
    {"Code": "SW-24POE", "Name": "Network switch 24-port PoE", "Description": "Managed 24-port gigabit PoE+ switch",
     "PurchaseDescription": "24-port PoE switch (Leader)",
     "SalesDetails": {"UnitPrice": 749.50, "AccountCode": "220", "TaxType": "OUTPUT"},
     "PurchaseDetails": {"UnitPrice": 560.00, "AccountCode": "310", "TaxType": "INPUT"}},
    {"Code": "FW-SUB-12", "Name": "Firewall subscription (12 months)", "Description": "Firewall UTM subscription",
     "PurchaseDescription": "Firewall UTM renewal",
     "SalesDetails": {"UnitPrice": 620.00, "AccountCode": "200", "TaxType": "OUTPUT"},
     "PurchaseDetails": {"UnitPrice": 455.00, "AccountCode": "310", "TaxType": "INPUT"}},
    {"Code": "BDR-MON", "Name": "Backup and disaster recovery", "Description": "BDR service, monthly",
     "SalesDetails": {"UnitPrice": 395.00, "AccountCode": "210", "TaxType": "OUTPUT"}},
    {"Code": "SUP-ONSITE", "Name": "Onsite support (hour)", "Description": "Onsite support, per hour",
     "SalesDetails": {"UnitPrice": 165.00, "AccountCode": "230", "TaxType": "OUTPUT"}},
    {"Code": "SUP-REMOTE", "Name": "Remote support (hour)", "Description": "Remote support, per hour",
     "SalesDetails": {"UnitPrice": 145.00, "AccountCode": "230", "TaxType": "OUTPUT"}},
    {"Code": "SAT-SEAT", "Name": "Security awareness training seat", "Description": "Annual training seat",
     "PurchaseDescription": "Security awareness platform seat",
     "SalesDetails": {"UnitPrice": 12.50, "AccountCode": "200", "TaxType": "OUTPUT"},
     "PurchaseDetails": {"UnitPrice": 7.80, "AccountCode": "310", "TaxType": "INPUT"}},
]

# The tracking category each demo organisation has; the product maps a CW location to one of its options.
XERO_TRACKING_CATEGORIES = [
    {"Name": "Location", "Options": [{"Name": "Adelaide"}, {"Name": "Melbourne"}, {"Name": "Perth"},
                                     {"Name": "Darwin", "Status": "ARCHIVED"}]},
]

# Payroll AU seed: calendars (StartDate a Monday), earnings rates and leave types, shared by every organisation.
XERO_PAYROLL_CALENDARS = [
    {"Name": "Weekly", "CalendarType": "WEEKLY", "StartDate": "2026-09-07", "PaymentDate": "2026-09-16"},
    {"Name": "Fortnightly", "CalendarType": "FORTNIGHTLY", "StartDate": "2026-09-07", "PaymentDate": "2026-09-23"},
]
XERO_EARNINGS_RATES = [
    {"Name": "Ordinary Hours", "EarningsType": "ORDINARYTIMEEARNINGS", "RateType": "RATEPERUNIT",
     "TypeOfUnits": "Hours", "AccountCode": "477"},
    {"Name": "Overtime Hours (x1.5)", "EarningsType": "OVERTIMEEARNINGS", "RateType": "MULTIPLE",
     "TypeOfUnits": "Hours", "Multiplier": 1.5, "AccountCode": "477"},
    {"Name": "Public Holiday", "EarningsType": "ORDINARYTIMEEARNINGS", "RateType": "MULTIPLE",
     "TypeOfUnits": "Hours", "Multiplier": 2.5, "AccountCode": "477"},
    # Not valid for timesheets: a fixed-amount allowance.
    {"Name": "Allowance", "EarningsType": "ALLOWANCE", "RateType": "FIXEDAMOUNT", "Amount": 25.0,
     "AccountCode": "477"},
]
XERO_LEAVE_TYPES = [
    {"Name": "Annual Leave", "LeaveCategoryCode": "ANNUALLEAVE", "NormalEntitlement": 152.0,
     "LeaveLoadingRate": 0.175},
    {"Name": "Personal/Carer's Leave", "LeaveCategoryCode": "PERSONALSICKCARERSLEAVE", "NormalEntitlement": 76.0,
     "LeaveLoadingRate": 0.0},
    {"Name": "Long Service Leave", "LeaveCategoryCode": "LONGSERVICELEAVE", "NormalEntitlement": 0.0,
     "LeaveLoadingRate": 0.0},
]

# ConnectWise members (technicians) of the demo MSP. employeeIdentifer (sic) is ConnectWise's own spelling.
# The product matches them to Xero employees by email, then employee identifier, then name:
# - "tnguyen" matches only by name (her Xero email is a personal one);
# - "jpatel" has no Xero employee; "rbrown" is inactive in ConnectWise (and TERMINATED in Xero).
CW_MEMBERS = [
    {"id": 101, "identifier": "swilliams", "firstName": "Sarah", "lastName": "Williams",
     "primaryEmail": "sarah.williams@demomsp.com.au", "employeeIdentifer": "E1001", "defaultLocation": "adelaide",
     "inactiveFlag": False},
    {"id": 102, "identifier": "mchen", "firstName": "Michael", "lastName": "Chen",
     "primaryEmail": "michael.chen@demomsp.com.au", "employeeIdentifer": "E1002", "defaultLocation": "adelaide",
     "inactiveFlag": False},
    {"id": 103, "identifier": "ekelly", "firstName": "Emma", "lastName": "Kelly",
     "primaryEmail": "emma.kelly@demomsp.com.au", "employeeIdentifer": "E1003", "defaultLocation": "adelaide",
     "inactiveFlag": False},
    {"id": 104, "identifier": "tnguyen", "firstName": "Thi", "lastName": "Nguyen",
     "primaryEmail": "thi.nguyen@demomsp.com.au", "employeeIdentifer": "E1004", "defaultLocation": "adelaide",
     "inactiveFlag": False},
    {"id": 105, "identifier": "jpatel", "firstName": "Jay", "lastName": "Patel",
     "primaryEmail": "jay.patel@demomsp.com.au", "employeeIdentifer": "E1005", "defaultLocation": "adelaide",
     "inactiveFlag": False},
    {"id": 106, "identifier": "rbrown", "firstName": "Robert", "lastName": "Brown",
     "primaryEmail": "robert.brown@demomsp.com.au", "employeeIdentifer": "E1006", "defaultLocation": "adelaide",
     "inactiveFlag": True},
    {"id": 201, "identifier": "ljones", "firstName": "Liam", "lastName": "Jones",
     "primaryEmail": "liam.jones@demomsp.com.au", "employeeIdentifer": "E2001", "defaultLocation": "melbourne",
     "inactiveFlag": False},
    {"id": 202, "identifier": "osmith", "firstName": "Olivia", "lastName": "Smith",
     "primaryEmail": "olivia.smith@demomsp.com.au", "employeeIdentifer": "E2002", "defaultLocation": "melbourne",
     "inactiveFlag": False},
    {"id": 203, "identifier": "ntaylor", "firstName": "Noah", "lastName": "Taylor",
     "primaryEmail": "noah.taylor@demomsp.com.au", "employeeIdentifer": "E2003", "defaultLocation": "melbourne",
     "inactiveFlag": False},
    {"id": 204, "identifier": "cwilson", "firstName": "Chloe", "lastName": "Wilson",
     "primaryEmail": "chloe.wilson@demomsp.com.au", "employeeIdentifer": "E2004", "defaultLocation": "melbourne",
     "inactiveFlag": False},
    {"id": 205, "identifier": "jmartin", "firstName": "Jack", "lastName": "Martin",
     "primaryEmail": "jack.martin@demomsp.com.au", "employeeIdentifer": "E2005", "defaultLocation": "melbourne",
     "inactiveFlag": False},
    {"id": 206, "identifier": "gthompson", "firstName": "Grace", "lastName": "Thompson",
     "primaryEmail": "grace.thompson@demomsp.com.au", "employeeIdentifer": "E2006", "defaultLocation": "melbourne",
     "inactiveFlag": False},
]

# Xero payroll employees per location (organisation). Calendar is a XERO_PAYROLL_CALENDARS name.
XERO_EMPLOYEES = {
    "adelaide": [
        {"FirstName": "Sarah", "LastName": "Williams", "Email": "sarah.williams@demomsp.com.au",
         "DateOfBirth": "1986-03-14", "StartDate": "2019-02-04", "Calendar": "Weekly", "JobTitle": "Service Manager"},
        {"FirstName": "Michael", "LastName": "Chen", "Email": "michael.chen@demomsp.com.au",
         "DateOfBirth": "1991-07-22", "StartDate": "2021-05-10", "Calendar": "Weekly", "JobTitle": "Senior Engineer"},
        {"FirstName": "Emma", "LastName": "Kelly", "Email": "emma.kelly@demomsp.com.au",
         "DateOfBirth": "1995-11-02", "StartDate": "2023-01-16", "Calendar": "Fortnightly",
         "JobTitle": "Service Desk Technician"},
        {"FirstName": "Thi", "LastName": "Nguyen", "Email": "thi.nguyen.home@gmail.com",
         "DateOfBirth": "1993-04-09", "StartDate": "2022-08-01", "Calendar": "Fortnightly",
         "JobTitle": "Project Engineer"},
        {"FirstName": "Robert", "LastName": "Brown", "Email": "robert.brown@demomsp.com.au",
         "DateOfBirth": "1979-09-30", "StartDate": "2015-03-02", "Calendar": "Weekly", "JobTitle": "Field Technician",
         "Status": "TERMINATED", "TerminationDate": "2026-06-30"},
        {"FirstName": "Hannah", "LastName": "Lee", "Email": "hannah.lee@demomsp.com.au",
         "DateOfBirth": "1989-12-12", "StartDate": "2020-10-05", "Calendar": "Fortnightly",
         "JobTitle": "Office Manager"},
    ],
    "melbourne": [
        {"FirstName": "Liam", "LastName": "Jones", "Email": "liam.jones@demomsp.com.au",
         "DateOfBirth": "1988-01-19", "StartDate": "2018-07-02", "Calendar": "Weekly", "JobTitle": "Team Lead"},
        {"FirstName": "Olivia", "LastName": "Smith", "Email": "olivia.smith@demomsp.com.au",
         "DateOfBirth": "1994-05-27", "StartDate": "2022-02-14", "Calendar": "Weekly", "JobTitle": "Network Engineer"},
        {"FirstName": "Noah", "LastName": "Taylor", "Email": "noah.taylor@demomsp.com.au",
         "DateOfBirth": "1997-08-08", "StartDate": "2024-03-04", "Calendar": "Fortnightly",
         "JobTitle": "Service Desk Technician"},
        {"FirstName": "Chloe", "LastName": "Wilson", "Email": "chloe.wilson@demomsp.com.au",
         "DateOfBirth": "1990-10-21", "StartDate": "2019-09-09", "Calendar": "Fortnightly",
         "JobTitle": "Cloud Engineer"},
        {"FirstName": "Jack", "LastName": "Martin", "Email": "jack.martin@demomsp.com.au",
         "DateOfBirth": "1985-02-03", "StartDate": "2017-04-18", "Calendar": "Weekly", "JobTitle": "Field Technician"},
        {"FirstName": "Grace", "LastName": "Thompson", "Email": "grace.thompson@demomsp.com.au",
         "DateOfBirth": "1992-06-15", "StartDate": "2021-11-01", "Calendar": "Fortnightly",
         "JobTitle": "Account Manager"},
    ],
}

# Leave applications seeded per organisation: (employee email, leave type name, start, end, title, hours).
XERO_LEAVE_APPLICATIONS = {
    "adelaide": [("sarah.williams@demomsp.com.au", "Annual Leave", "2026-12-21", "2026-12-31", "Christmas break",
                  60.0),
                 ("michael.chen@demomsp.com.au", "Long Service Leave", "2027-01-11", "2027-01-22", "Long service leave",
                  76.0)],
    "melbourne": [("olivia.smith@demomsp.com.au", "Personal/Carer's Leave", "2026-11-10", "2026-11-10",
                   "Sick day", 7.6),
                  ("jack.martin@demomsp.com.au", "Annual Leave", "2027-01-05", "2027-01-09", "Summer holiday",
                   38.0)],
}

# ---- ConnectWise procurement, time and catalogue (the CW simulator's cw_procurement / cw_time / cw_catalog)

DEFAULT_PROCUREMENT_PER_LOCATION = {"adelaide": 32, "melbourne": 28}
# Purchase-side Xero tax type of each CW tax code (CW_TAX_CODES' xref is the sales side): purchase transactions
# in the GL export carry these as taxCodeXref.
CW_PURCHASE_TAX_XREFS = {"GST": "INPUT", "GST-FREE": "EXEMPTEXPENSES", "EXPORT": "EXEMPTEXPENSES"}
# What the demo MSP buys: description, product identifier, GL expense/COGS account (= Xero code), unit cost,
# CW tax code identifier. "310" Cost of Goods Sold for resold goods, "429" General Expenses for its own use.
CW_PROCUREMENT_LINES = [
    ("Dell Latitude 5450 laptop", "DELL-LAT5450", "310", 1450.00, "GST"),
    ("Microsoft 365 Business Premium, per seat (annual)", "M365-BP", "310", 26.40, "GST"),
    ("Network switch 24-port PoE", "SW-24POE", "310", 560.00, "GST"),
    ("Firewall subscription (wholesale)", "FW-SUB", "310", 410.00, "GST"),
    ("Dell 27in monitor P2725H", "DELL-P2725H", "310", 329.00, "GST"),
    ("APC Smart-UPS 1500VA", "APC-SMT1500", "310", 899.00, "GST"),
    ("Backup software licence, per seat (annual)", "BDR-SEAT", "310", 12.50, "GST"),
    ("Cat6 patch leads (pack of 20)", "CAT6-20PK", "429", 64.50, "GST"),
    ("Overseas SaaS tooling subscription", "SAAS-INTL", "429", 199.00, "GST-FREE"),
    ("Domain name renewal (.com.au)", "DOMAIN-AU", "429", 24.95, "GST-FREE"),
]
# ConnectWise time work types; accrualType marks leave.
CW_WORK_TYPES = [
    {"id": 1, "name": "Regular", "billTime": "Billable", "rateType": "AdjAmount", "rate": 0.0,
     "utilizationFlag": True},
    {"id": 2, "name": "Overtime", "billTime": "Billable", "rateType": "Multiplier", "rate": 1.5,
     "utilizationFlag": True},
    {"id": 3, "name": "After Hours", "billTime": "Billable", "rateType": "Multiplier", "rate": 2.0,
     "utilizationFlag": True},
    {"id": 4, "name": "Travel", "billTime": "NoCharge", "rateType": "AdjAmount", "rate": 0.0, "utilizationFlag": False},
    {"id": 5, "name": "Annual Leave", "billTime": "DoNotBill", "rateType": "AdjAmount", "rate": 0.0,
     "utilizationFlag": False, "accrualType": "Vacation"},
    {"id": 6, "name": "Sick Leave", "billTime": "DoNotBill", "rateType": "AdjAmount", "rate": 0.0,
     "utilizationFlag": False, "accrualType": "Sick"},
]
# Catalogue items that exist in ConnectWise before any sync, beside the first four XERO_ITEMS codes (which the
# simulator seeds with stale descriptions and prices, so a catalogue sync updates them).
CW_CATALOG_ITEMS = [
    {"identifier": "ONSITE-HR", "description": "Onsite support (hours)", "price": 165.0, "cost": 0.0,
     "type": "Service"},
    {"identifier": "REMOTE-HR", "description": "Remote support (hours)", "price": 145.0, "cost": 0.0,
     "type": "Service"},
    {"identifier": "DELL-P2725H", "description": "Dell 27in monitor P2725H", "price": 429.0, "cost": 329.0,
     "type": "Non-Inventory"},
    {"identifier": "APC-SMT1500", "description": "APC Smart-UPS 1500VA", "price": 1149.0, "cost": 899.0,
     "type": "Non-Inventory"},
    {"identifier": "CAT6-20PK", "description": "Cat6 patch leads (pack of 20)", "price": 95.0, "cost": 64.5,
     "type": "Non-Inventory"},
    {"identifier": "LEGACY-AV", "description": "Legacy antivirus seat (discontinued)", "price": 4.5, "cost": 2.1,
     "type": "Non-Inventory", "inactiveFlag": True},
]
