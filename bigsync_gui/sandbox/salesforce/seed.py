"""The Salesforce half of the sandbox's story: the firm's users, its customers, their contacts and
a pipeline of ~40 opportunities across every stage, deterministic for a given random source."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from typing import Any

from .. import credentials as cred
from .. import story
from . import ids
from .data import SalesforceData
from .formats import format_datetime
from .schema import PERMISSION_FLAGS

# docs/reference/salesforce.md, "The standard opportunity stages": a new org's defaults.
STANDARD_STAGES: tuple[dict[str, Any], ...] = tuple(
    {
        "ApiName": name,
        "MasterLabel": name,
        "SortOrder": i,
        "DefaultProbability": prob,
        "ForecastCategoryName": forecast,
        "IsClosed": closed,
        "IsWon": won,
        "IsActive": True,
    }
    for i, (name, prob, forecast, closed, won) in enumerate(
        (
            ("Prospecting", 10, "Pipeline", False, False),
            ("Qualification", 10, "Pipeline", False, False),
            ("Needs Analysis", 20, "Pipeline", False, False),
            ("Value Proposition", 50, "Pipeline", False, False),
            ("Id. Decision Makers", 60, "Pipeline", False, False),
            ("Perception Analysis", 70, "Pipeline", False, False),
            ("Proposal/Price Quote", 75, "Pipeline", False, False),
            ("Negotiation/Review", 90, "Pipeline", False, False),
            ("Closed Won", 100, "Closed", True, True),
            ("Closed Lost", 0, "Omitted", True, False),
        ),
        start=1,
    )
)

FIRST_NAMES = (
    "Alex",
    "Jordan",
    "Morgan",
    "Taylor",
    "Casey",
    "Riley",
    "Jamie",
    "Quinn",
    "Harper",
    "Rowan",
    "Sasha",
    "Noel",
    "Priya",
    "Mateo",
    "Ingrid",
    "Kenji",
    "Amara",
    "Lucas",
    "Fatima",
    "Oliver",
)
LAST_NAMES = (
    "Nguyen",
    "Schmidt",
    "Okafor",
    "Rossi",
    "Kowalski",
    "Haddad",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "García",
    "Murphy",
    "Novak",
    "Singh",
    "Costa",
    "Fischer",
    "Walsh",
    "Yilmaz",
    "Brennan",
)
CONTACT_TITLES = (
    "CIO",
    "CFO",
    "VP Operations",
    "Head of IT",
    "Procurement Manager",
    "Project Sponsor",
    "Director of Finance",
    "IT Manager",
    "COO",
    "Program Manager",
)
PROJECTS = (
    "ERP rollout phase 2",
    "Data warehouse modernisation",
    "CRM implementation",
    "Cloud migration assessment",
    "Security audit",
    "Supply-chain analytics",
    "Managed services renewal",
    "Finance process redesign",
    "Integration platform",
    "BI dashboards",
    "Change management programme",
    "IT strategy review",
    "Customer portal build",
    "HR system selection",
    "Network refresh",
    "Data governance framework",
    "Mobile app discovery",
    "Cost optimisation study",
    "ServiceNow rollout",
    "Compliance readiness",
)
ROLE_CHOICES = (
    "Decision Maker",
    "Economic Buyer",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Business User",
)
OPPS_PER_STAGE = 4


def _domain(account_name: str) -> str:
    word = re.sub(r"[^a-z]", "", account_name.lower().split()[0])
    return f"{word}.example"


def seed_salesforce(data: SalesforceData, rng: random.Random) -> None:
    data.set_stages([dict(s) for s in STANDARD_STAGES])
    now = data.now()
    stamp = format_datetime(now - timedelta(days=800))
    # The org itself (the id the identity URLs carry; SELECT Name FROM Organization answers it).
    data.records["organization"][ids.ORG_ID] = {
        "Id": ids.ORG_ID,
        "Name": cred.SF_ORG_NAME,
        "OrganizationType": "Enterprise Edition",
        "IsSandbox": True,
        "InstanceName": "KX1",
        "IsDeleted": False,
        "CreatedDate": stamp,
        "LastModifiedDate": stamp,
        "SystemModstamp": stamp,
    }

    # Users: the first of the staff is the demo admin the login form accepts.
    user_ids: list[str] = []
    for i, (first, last, title) in enumerate(story.STAFF):
        if i == 0:
            username = cred.SF_USERNAME
        else:
            username = f"{first}.{re.sub(r'[^a-z]', '', last.lower())}@acme-demo.example".lower()
        uid = data.insert(
            "User",
            {
                "Username": username,
                "FirstName": first,
                "LastName": last,
                "Email": username,
                "Title": title,
                "IsActive": True,
                "CreatedDate": format_datetime(now - timedelta(days=400 - i)),
            },
            system=True,
            user_id=user_ids[0] if user_ids else None,
        )
        data.passwords[uid] = cred.SF_PASSWORD
        user_ids.append(uid)
    admin, sellers = user_ids[0], user_ids[1:] or user_ids
    seed_profiles(data, admin, user_ids[1:])

    # Accounts and their contacts.
    accounts: list[tuple[str, str, list[str]]] = []  # (id, short name, contact ids)
    used_names: set[tuple[str, str]] = set()
    for name, industry, city, state, country, phone, in_bigtime in story.CUSTOMERS:
        owner = rng.choice(sellers)
        domain = _domain(name)
        acc = data.insert(
            "Account",
            {
                "Name": name,
                "Industry": industry,
                "BillingCity": city,
                "BillingState": state or None,
                "BillingCountry": country,
                "Phone": phone,
                "Website": f"https://www.{domain}",
                "Type": "Customer - Direct" if in_bigtime else "Prospect",
                "CreatedDate": format_datetime(now - timedelta(days=rng.randint(90, 700))),
            },
            user_id=owner,
            system=True,
        )
        contacts = []
        for _ in range(rng.randint(2, 3)):
            while True:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                if (first, last) not in used_names:
                    used_names.add((first, last))
                    break
            local = f"{first}.{last}".lower().replace("í", "i")
            contacts.append(
                data.insert(
                    "Contact",
                    {
                        "AccountId": acc,
                        "FirstName": first,
                        "LastName": last,
                        "Title": rng.choice(CONTACT_TITLES),
                        "Email": f"{local}@{domain}",
                        "Phone": phone,
                        "MailingCity": city,
                        "MailingCountry": country,
                    },
                    user_id=owner,
                )
            )
        short = name.split()[0] if len(name.split()) > 1 else name
        accounts.append((acc, short, contacts))

    # Opportunities: OPPS_PER_STAGE in every stage, plus one without an account.
    project_pool = list(PROJECTS)
    rng.shuffle(project_pool)
    n = 0
    for stage in STANDARD_STAGES:
        for _ in range(OPPS_PER_STAGE):
            acc_id, short, contacts = accounts[n % len(accounts)]
            project = project_pool[n % len(project_pool)]
            if n >= len(project_pool):
                project += " – phase 2" if "phase" not in project else ""
            n += 1
            if stage["IsClosed"]:
                close = now.date() - timedelta(days=rng.randint(3, 150))
            else:
                close = now.date() + timedelta(days=rng.randint(7, 180) - stage["SortOrder"] * 5)
            owner = rng.choice(sellers)
            opp = data.insert(
                "Opportunity",
                {
                    "Name": f"{short} – {project}",
                    "AccountId": acc_id,
                    "StageName": stage["ApiName"],
                    "Amount": rng.randrange(15, 400) * 1000,
                    "CloseDate": close.isoformat(),
                    "Type": rng.choice(("New Business", "Existing Business")),
                    "LeadSource": rng.choice(("Web", "Phone Inquiry", "Partner Referral", "Other")),
                    "CreatedDate": format_datetime(now - timedelta(days=rng.randint(20, 200))),
                },
                user_id=owner,
                system=True,
            )
            chosen = rng.sample(contacts, k=min(len(contacts), rng.randint(1, 2)))
            for i, contact in enumerate(chosen):
                data.insert(
                    "OpportunityContactRole",
                    {
                        "OpportunityId": opp,
                        "ContactId": contact,
                        "IsPrimary": i == 0,
                        "Role": "Decision Maker" if i == 0 else rng.choice(ROLE_CHOICES),
                    },
                    user_id=owner,
                )
    data.insert(
        "Opportunity",
        {
            "Name": "Walk-in – Workshop for a prospect without an account",
            "StageName": "Qualification",
            "Amount": 8000,
            "CloseDate": (now.date() + timedelta(days=30)).isoformat(),
            "LeadSource": "Web",
        },
        user_id=admin,
    )


def seed_profiles(data: SalesforceData, admin: str, others: list[str]) -> None:
    """Each user's profile, as the permission set it owns: the demo admin is a System
    Administrator (every permission, Customize Application included; View All and Modify All on
    accounts, contacts and opportunities), the others Standard Users (read, create, edit)."""
    for name, label, flags, users in (
        ("X00eKx000000SysAdm", "System Administrator", set(PERMISSION_FLAGS), [admin]),
        ("X00eKx000000StdUsr", "Standard User", {"ApiEnabled"}, others),
    ):
        values = {"Name": name, "Label": label, **{f"Permissions{p}": p in flags for p in PERMISSION_FLAGS}}
        pid = data.insert("PermissionSet", values, system=True, user_id=admin)
        data.records["permissionset"][pid]["IsOwnedByProfile"] = True
        everything = "ModifyAllData" in flags  # an admin sees and changes every record; others their own
        for sobject in ("Account", "Contact", "Opportunity"):
            data.insert(
                "ObjectPermissions",
                {
                    "ParentId": pid,
                    "SobjectType": sobject,
                    "PermissionsRead": True,
                    "PermissionsCreate": True,
                    "PermissionsEdit": True,
                    "PermissionsDelete": everything,
                    "PermissionsViewAllRecords": everything,
                    "PermissionsModifyAllRecords": everything,
                },
                system=True,
                user_id=admin,
            )
        for user in users:
            data.insert(
                "PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": pid}, system=True, user_id=admin
            )
