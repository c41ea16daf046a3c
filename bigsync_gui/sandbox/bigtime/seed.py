"""BigTime's seed data: Acme Consulting, its people, clients, projects, time, expenses, invoices.

Deterministic from the ``rng`` given (dates are relative to the sandbox clock's today). The
clients include the Salesforce customers marked as already in BigTime (same names, so the app
can match accounts to clients by name) and two clients that exist only in BigTime.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from .. import credentials as cred
from .. import story
from .data import INVOICE_OPEN, BigTimeData

# Sales tax on time-and-materials invoices: their TotalAmt is InvoiceAmt + tax (fixed fees and
# retainers are not taxed here), so the two amounts are not always equal — as on real invoices.
SALES_TAX_RATE = 0.0825

# Billing / cost rates by position in story.STAFF.
_RATES = ((225.0, 110.0), (200.0, 95.0), (175.0, 85.0), (150.0, 70.0), (120.0, 55.0))

_BT_ONLY_CLIENTS = (
    {
        "Nm": "Vandelay Industries",
        "ClientId": "VANDELAY",
        "Address": "129 West 81st Street",
        "City": "New York",
        "State": "NY",
        "Zip": "10024",
        "Country": "United States",
        "MainPH": "(212) 555-0166",
        "Notes": "Import/export. Billing contact prefers e-mail.",
    },
    {
        "Nm": "Acme Consulting (Internal)",
        "ClientId": "INTERNAL",
        "Address": "1 Main Street",
        "City": "Denver",
        "State": "CO",
        "Zip": "80202",
        "Country": "United States",
        "MainPH": "(303) 555-0100",
        "Notes": "Non-billable internal work.",
    },
)

# (client name, project name, type id, status id, billing rate, [(task, budget hours)], staff positions)
_PROJECTS = (
    (
        "Globex Corporation",
        "ERP Rollout Phase 1",
        1,
        2,
        0.0,
        [("Discovery", 60), ("Configuration", 160), ("Training", 40)],
        (1, 2, 3),
    ),
    (
        "Globex Corporation",
        "Data Warehouse Assessment",
        2,
        4,
        0.0,
        [("Assessment", 80), ("Recommendations", 24)],
        (2, 4),
    ),
    ("Initech", "TPS Report Automation", 1, 2, 185.0, [("Analysis", 40), ("Build", 120), ("Go-live", 24)], (1, 3, 4)),
    ("Initech", "Support Retainer 2026", 3, 2, 0.0, [("Support", 200)], (3,)),
    (
        "Stark Industries",
        "Arc Reactor Monitoring Dashboard",
        1,
        2,
        0.0,
        [("Design", 50), ("Development", 140)],
        (0, 2, 3),
    ),
    ("Soylent Foods", "Supply Chain Analytics", 1, 1, 0.0, [("Data audit", 30), ("Modelling", 70)], (2, 4)),
    ("Vandelay Industries", "Import/Export Portal", 1, 3, 0.0, [("Requirements", 40), ("Prototype", 60)], (1, 3)),
    ("Acme Consulting (Internal)", "Internal Training & Admin", 4, 2, 0.0, [], (0, 1, 2, 3, 4)),
)

_CONTACT_NAMES = (
    ("Hank", "Scorpio", "CIO"),
    ("Milton", "Waddams", "Office Manager"),
    ("Pepper", "Potts", "CEO"),
    ("Sol", "Roth", "Head of Operations"),
    ("Art", "Vandelay", "Owner"),
    ("Nina", "Myers", "Controller"),
    ("Peter", "Gibbons", "Project Lead"),
    ("Joanna", "Clark", "Finance Manager"),
)

_TIME_NOTES = (
    "Workshop with client team",
    "Configuration and testing",
    "Status meeting",
    "Documentation",
    "Data mapping",
    "Build and review",
    "Stakeholder interviews",
    "Bug fixing",
)


def _login(first: str, last: str) -> str:
    clean = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == ".")
    return f"{clean}@acme-demo.example"


def _month_ends_between(start: date, end: date) -> list[date]:
    out = []
    cursor = date(start.year, start.month, 1)
    while True:
        nxt = date(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1)
        last = nxt - timedelta(days=1)
        if last >= end:
            break
        if last >= start:
            out.append(last)
        cursor = nxt
    return out


def seed_bigtime(data: BigTimeData, rng: random.Random) -> None:
    today = data.today()

    # ---- people ----------------------------------------------------------------------------
    staff_ids: list[int] = []
    for pos, (first, last, title) in enumerate(story.STAFF):
        bill, cost = _RATES[pos % len(_RATES)]
        login = cred.BT_USERNAME if pos == 0 else _login(first, last)
        staff_ids.append(
            data.directory.add_staff(
                {
                    "FName": first,
                    "SName": last,
                    "Title": title,
                    "EMail": login,
                    "UserId": login,
                    "Pwd": cred.BT_PASSWORD,
                    "BillRate": bill,
                    "CostRate": cost,
                    "HireDt": (today - timedelta(days=365 * (5 - pos) + rng.randint(0, 200))).isoformat(),
                    "Phone": f"(303) 555-01{20 + pos:02d}",
                }
            )
        )

    # ---- clients ---------------------------------------------------------------------------
    client_ids: dict[str, int] = {}
    for name, _industry, city, state, country, phone, in_bigtime in story.CUSTOMERS:
        if not in_bigtime:
            continue
        code = "".join(ch for ch in name.split()[0].upper() if ch.isalnum())[:10]
        client_ids[name] = data.directory.create_client(
            {
                "Nm": name,
                "ClientId": code,
                "Address": f"{rng.randint(10, 990)} {rng.choice(['Market', 'Oak', 'Lake', 'Harbor', 'Pine'])} Street",
                "City": city,
                "State": state,
                "Zip": f"{rng.randint(10000, 99999)}",
                "Country": country,
                "MainPH": phone,
                "Notes": f"Client since {today.year - rng.randint(1, 6)}.",
            }
        )
    for fields in _BT_ONLY_CLIENTS:
        client_ids[fields["Nm"]] = data.directory.create_client(dict(fields))

    # ---- projects, tasks, contacts ---------------------------------------------------------
    weeks = 10
    history_start = today - timedelta(weeks=weeks)
    for index, (client, name, type_id, status, rate, tasks, team) in enumerate(_PROJECTS):
        start = history_start - timedelta(days=rng.randint(0, 20)) if status != 1 else today - timedelta(weeks=3)
        budget_hours = float(sum(h for _, h in tasks))
        budget_fees = round(budget_hours * (rate or 175.0), 2)
        pid = data.directory.create_project(
            {
                "Nm": name,
                "ClientId": client_ids[client],
                "TypeId": type_id,
                "StatusProd": status,
                "StatusBill": 3 if type_id == 4 else 1,
                "StartDt": start.isoformat(),
                "EndDt": (start + timedelta(weeks=rng.randint(12, 30))).isoformat(),
                "Notes": f"{name} for {client}.",
                "BudgetHours": budget_hours,
                "BudgetFees": budget_fees if type_id != 4 else 0.0,
                "BudgetStyle": 3 if tasks and type_id != 4 else 0,
                "BillingRate": rate,
                "ProjectCode": f"{data.records['client'][client_ids[client]]['ClientId']}-{index + 1:03d}",
            }
        )
        task_ids = [
            data.directory.add_task(
                pid,
                {
                    "TaskNm": task,
                    "BudgetHours": hours,
                    "BudgetFees": round(hours * (rate or 175.0), 2),
                    "BudgetExps": float(rng.choice([0, 500, 1000, 2500])),
                },
            )
            for task, hours in tasks
        ]
        if type_id != 4:
            first, last, title = _CONTACT_NAMES[index % len(_CONTACT_NAMES)]
            domain = client.split()[0].lower().strip(".,") + ".example"
            data.directory.add_project_contact(
                pid,
                {
                    "Tag": "PRIMARY",
                    "FName": first,
                    "SName": last,
                    "Title": title,
                    "EMail": f"{first.lower()}.{last.lower()}@{domain}",
                    "Phone": f"(555) 555-0{rng.randint(100, 999)}",
                },
            )
            bfirst, blast, _ = _CONTACT_NAMES[(index + 3) % len(_CONTACT_NAMES)]
            data.directory.add_project_contact(
                pid,
                {
                    "Tag": "BILLING",
                    "FName": bfirst,
                    "SName": blast,
                    "Title": "Accounts Payable",
                    "EMail": f"ap@{domain}",
                },
            )

        # ---- time: weekdays over the recent weeks, while the project ran ----------------------
        last_day = today - timedelta(days=1)
        if status == 4:
            last_day = today - timedelta(weeks=4)
        if status == 3:
            last_day = today - timedelta(weeks=2)
        day = max(start, history_start)
        while day <= last_day:
            if day.weekday() < 5:
                for pos in team:
                    if rng.random() < (0.35 if type_id != 4 else 0.15):
                        hours = rng.choice([1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0])
                        data.ledger.log_time(
                            {
                                "Dt": day.isoformat(),
                                "ProjectSID": pid,
                                "StaffSID": staff_ids[pos % len(staff_ids)],
                                "TaskSID": rng.choice(task_ids) if task_ids else None,
                                "BudgCatID": 35 if type_id == 4 else rng.choice([31, 31, 32, 33]),
                                "Hours_IN": hours,
                                "Notes": rng.choice(_TIME_NOTES),
                                "IsSubmitted": day < today - timedelta(days=7),
                                "IsApproved": day < today - timedelta(days=14),
                            }
                        )
            day += timedelta(days=1)

        # ---- expenses: travel on client work -------------------------------------------------
        if type_id != 4 and status != 1:
            for _ in range(rng.randint(1, 4)):
                when = max(start, history_start) + timedelta(
                    days=rng.randint(0, max(1, (last_day - max(start, history_start)).days))
                )
                cat = rng.choice([41, 42, 43, 44, 45])
                cost = {
                    41: rng.randint(250, 700),
                    42: rng.randint(150, 450),
                    43: rng.randint(20, 90),
                    44: rng.randint(15, 120),
                    45: rng.randint(100, 900),
                }[cat]
                data.ledger.log_expense(
                    {
                        "Dt": when.isoformat(),
                        "ProjectSID": pid,
                        "StaffSID": staff_ids[rng.choice(team) % len(staff_ids)],
                        "CatSID": cat,
                        "CostIN": float(cost),
                        "Nt": "Client visit" if cat < 45 else "Licence",
                        "TaskSID": rng.choice(task_ids) if task_ids else None,
                    }
                )

        # ---- invoices -------------------------------------------------------------------------
        if type_id == 1:
            for month_end in _month_ends_between(max(start, history_start), today):
                try:
                    data.ledger.create_invoice(
                        {"ProjectSid": pid, "InvoiceDt": month_end.isoformat(), "Status": INVOICE_OPEN},
                        tax_rate=SALES_TAX_RATE,
                    )
                except Exception:  # nothing billable that month
                    continue
        elif type_id == 2:
            data.ledger.create_invoice(
                {
                    "ProjectSid": pid,
                    "InvoiceDt": (today - timedelta(weeks=6)).isoformat(),
                    "InvoiceAmt": round(budget_fees / 2, 2),
                    "Notes": "Fixed fee: 50% on kick-off",
                }
            )
            data.ledger.create_invoice(
                {
                    "ProjectSid": pid,
                    "InvoiceDt": (today - timedelta(weeks=4)).isoformat(),
                    "InvoiceAmt": round(budget_fees / 2, 2),
                    "Notes": "Fixed fee: 50% on delivery",
                }
            )
        elif type_id == 3:
            for month_end in _month_ends_between(history_start, today):
                data.ledger.create_invoice(
                    {
                        "ProjectSid": pid,
                        "InvoiceDt": month_end.isoformat(),
                        "InvoiceAmt": 6000.0,
                        "Notes": "Monthly support retainer",
                    }
                )

    # A draft being prepared for this month's time on the first project.
    first_project = min(data.records["project"])
    try:
        data.ledger.create_invoice(
            {"ProjectSid": first_project, "InvoiceDt": today.isoformat(), "Status": 0}, tax_rate=SALES_TAX_RATE
        )
    except Exception:
        pass

    # ---- payments: older invoices paid, some partially, the newest open ------------------------
    posted = sorted(
        (inv for inv in data.records["invoice"].values() if inv["Status"] != 0),
        key=lambda i: (i["InvoiceDt"], i["Sid"]),
    )
    for inv in posted:
        age = (today - date.fromisoformat(inv["InvoiceDt"][:10])).days
        roll = rng.random()
        if age > 45 and roll < 0.8:
            data.ledger.record_payment(
                inv["Sid"],
                inv["TotalAmt"],
                (date.fromisoformat(inv["InvoiceDt"][:10]) + timedelta(days=rng.randint(12, 40))).isoformat(),
            )
        elif age > 20 and roll < 0.6:
            part = round(inv["TotalAmt"] * rng.choice([0.25, 0.4, 0.5]), 2)
            data.ledger.record_payment(
                inv["Sid"],
                part,
                (date.fromisoformat(inv["InvoiceDt"][:10]) + timedelta(days=rng.randint(10, 20))).isoformat(),
            )
