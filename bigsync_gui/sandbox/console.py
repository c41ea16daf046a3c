"""The sandbox console: a plain HTML page to play the sales team and the delivery team.

Served under ``/__sandbox__/console/`` on the Salesforce emulator's port. A person moves an
opportunity's stage, creates, deletes or restores one, and logs time, expenses, invoices and
payments in BigTime — and watches the sync react. No JavaScript and no build step: forms that
post, then redirect back (post/redirect/get) with a one-line message.
"""

from __future__ import annotations

import html
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from . import credentials as cred
from .console_setup import change_setup, setup_rules, setup_section
from .console_style import STYLE
from .bigtime.data import EXPENSE_CODES, BigTimeError
from .salesforce.errors import SalesforceError

if TYPE_CHECKING:
    from .web import ServiceApp
    from .world import World


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def money(value: Any) -> str:
    return "" if value in (None, "") else f"{float(value):,.2f}"


class ConsoleApp:
    """WSGI app for the console; the Sandbox mounts it at ``/__sandbox__/console``."""

    def __init__(self, world: World, salesforce: ServiceApp, bigtime: ServiceApp) -> None:
        self.world = world
        self.salesforce = salesforce  # the two emulators, for their request logs
        self.bigtime = bigtime
        self.url_map = Map(
            [
                Rule("/", endpoint="page", methods=["GET"]),
                Rule("/opportunity", endpoint="create_opportunity", methods=["POST"]),
                Rule("/opportunity/<oid>/stage", endpoint="move_stage", methods=["POST"]),
                Rule("/opportunity/<oid>/delete", endpoint="delete_opportunity", methods=["POST"]),
                Rule("/opportunity/<oid>/restore", endpoint="restore_opportunity", methods=["POST"]),
                Rule("/bigtime/time", endpoint="log_time", methods=["POST"]),
                Rule("/bigtime/expense", endpoint="log_expense", methods=["POST"]),
                Rule("/bigtime/invoice", endpoint="create_invoice", methods=["POST"]),
                Rule("/bigtime/payment", endpoint="record_payment", methods=["POST"]),
                *setup_rules(),
            ],
            strict_slashes=False,
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if environ.get("PATH_INFO", "") == "":
            # Relative form actions need the page's URL to end with a slash.
            return redirect(request.script_root + "/", code=308)(environ, start_response)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match()
        except Exception:
            return Response("Not found", status=404)(environ, start_response)
        if endpoint == "page":
            return self.page(request)(environ, start_response)
        world = self.world
        try:
            with world.lock:
                message = getattr(self, endpoint)(request, **values)
                world.changed()
            target = "./?" + urlencode({"ok": message})
        except (SalesforceError, BigTimeError) as exc:
            target = "./?" + urlencode({"err": getattr(exc, "message", str(exc))})
        except (KeyError, ValueError) as exc:
            target = "./?" + urlencode({"err": f"Please fill in the form correctly ({exc})."})
        base = request.script_root.rstrip("/") + "/"
        return redirect(base + target.removeprefix("./"), code=303)(environ, start_response)

    # ---- Salesforce actions ----------------------------------------------------------------
    def create_opportunity(self, request: Request) -> str:
        form = request.form
        fields: dict[str, Any] = {
            "Name": form["name"].strip(),
            "StageName": form["stage"],
            "CloseDate": form.get("close_date") or self._today(),
        }
        if form.get("account"):
            fields["AccountId"] = form["account"]
        if form.get("amount"):
            fields["Amount"] = float(form["amount"])
        oid = self.world.salesforce.insert("Opportunity", fields)
        return f"Created opportunity {fields['Name']} ({oid})."

    def move_stage(self, request: Request, oid: str) -> str:
        stage = request.form["stage"]
        self.world.salesforce.update("Opportunity", oid, {"StageName": stage})
        return f"Moved {self._opp_name(oid)} to {stage}."

    def delete_opportunity(self, request: Request, oid: str) -> str:
        name = self._opp_name(oid)
        self.world.salesforce.delete("Opportunity", oid)
        return f"Deleted {name} (it is in the recycle bin; Restore brings it back)."

    def restore_opportunity(self, request: Request, oid: str) -> str:
        self.world.salesforce.undelete("Opportunity", oid)
        return f"Restored {self._opp_name(oid)}."

    def _today(self) -> str:
        """The world's today (its clock may be pinned or moved), not the machine's."""
        return self.world.clock.now().date().isoformat()

    def _opp_name(self, oid: str) -> str:
        record = self.world.salesforce.get("Opportunity", oid, include_deleted=True)
        return record["Name"] if record else oid

    def change_setup(self, request: Request, what: str, value: str) -> str:
        return change_setup(self.salesforce, what, value)

    # ---- BigTime actions -------------------------------------------------------------------
    def log_time(self, request: Request) -> str:
        form = request.form
        sid = self.world.bigtime.ledger.log_time(
            {
                "ProjectSID": int(form["project"]),
                "StaffSID": int(form["staff"]),
                "Dt": form.get("date") or self._today(),
                "Hours_IN": float(form["hours"]),
                "Notes": form.get("notes", ""),
            }
        )
        return f"Logged {float(form['hours']):g} h (time entry {sid})."

    def log_expense(self, request: Request) -> str:
        form = request.form
        sid = self.world.bigtime.ledger.log_expense(
            {
                "ProjectSID": int(form["project"]),
                "StaffSID": int(form["staff"]),
                "Dt": form.get("date") or self._today(),
                "CatSID": int(form["category"]),
                "CostIN": float(form["amount"]),
                "Nt": form.get("notes", ""),
            }
        )
        return f"Logged an expense of {money(form['amount'])} (expense {sid})."

    def create_invoice(self, request: Request) -> str:
        form = request.form
        fields: dict[str, Any] = {"ProjectSid": int(form["project"]), "InvoiceDt": form.get("date") or self._today()}
        if form.get("amount"):
            fields["InvoiceAmt"] = float(form["amount"])
        sid = self.world.bigtime.ledger.create_invoice(fields)
        invoice = self.world.bigtime.ledger.get_invoice(sid)
        return f"Invoice {invoice['InvoiceNbr']} raised for {money(invoice['TotalAmt'])}."

    def record_payment(self, request: Request) -> str:
        form = request.form
        self.world.bigtime.ledger.record_payment(int(form["invoice"]), float(form["amount"]))
        return f"Recorded a payment of {money(form['amount'])}."

    # ---- the page ----------------------------------------------------------------------------
    def page(self, request: Request) -> Response:
        world = self.world
        with world.lock:
            body = "".join(
                [
                    self._messages(request),
                    self._opportunities(request.args.get("deleted") == "1"),
                    self._bigtime(),
                    setup_section(self.salesforce),
                    self._log(),
                    self._about(),
                ]
            )
        doc = (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<link rel='icon' href='data:,'>"  # no /favicon.ico request in the API log the page shows
            f"<title>bigsync-gui sandbox console</title><style>{STYLE}</style></head><body>"
            "<header><h1>bigsync-gui sandbox console</h1>"
            f"<p>{esc(cred.SF_ORG_NAME)} in Salesforce · {esc(cred.BT_FIRM_NAME)} in BigTime · "
            "changes here are what the sales and delivery teams would do; watch the sync react.</p></header>"
            f"<main>{body}</main></body></html>"
        )
        return Response(doc, mimetype="text/html")

    @staticmethod
    def _messages(request: Request) -> str:
        if request.args.get("ok"):
            return f"<div class='msg ok' role='status'>{esc(request.args['ok'])}</div>"
        if request.args.get("err"):
            return f"<div class='msg err' role='alert'>{esc(request.args['err'])}</div>"
        return ""

    def _opportunities(self, show_deleted: bool) -> str:
        sf = self.world.salesforce
        stages = sf.stages_in_order()
        accounts = sorted(
            (r for r in sf.all_records("Account") if not r.get("IsDeleted")), key=lambda r: r["Name"].lower()
        )
        account_names = {a["Id"]: a["Name"] for a in accounts}
        opps = [r for r in sf.all_records("Opportunity") if show_deleted or not r.get("IsDeleted")]
        opps.sort(key=lambda r: r.get("SystemModstamp") or "", reverse=True)

        def stage_options(current: str | None) -> str:
            return "".join(
                f"<option value='{esc(s['ApiName'])}'{' selected' if s['ApiName'] == current else ''}"
                f"{'' if s.get('IsActive', True) else ' disabled'}>{esc(s['MasterLabel'])}</option>"
                for s in stages
            )

        rows = []
        for o in opps:
            oid, name = quote(o["Id"]), esc(o["Name"])
            if o.get("IsDeleted"):
                stage = esc(o.get("StageName"))
                action = (
                    f"<form method='post' action='opportunity/{oid}/restore'>"
                    f"<button title='Bring {name} back from the recycle bin'>Restore</button></form>"
                )
            else:
                stage = (
                    f"<form method='post' action='opportunity/{oid}/stage'>"
                    f"<select name='stage' aria-label='Stage of {name}'>{stage_options(o.get('StageName'))}</select>"
                    f"<button title='Move {name} to the stage chosen'>Move</button></form>"
                )
                action = (
                    f"<form method='post' action='opportunity/{oid}/delete'>"
                    f"<button title='Delete {name} (to the recycle bin)'>Delete</button></form>"
                )
            modified = " ".join(
                f"<span class=nowrap>{esc(part)}</span>" for part in (o.get("SystemModstamp") or "")[:19].split("T")
            )
            rows.append(
                f"<tr class='{'deleted' if o.get('IsDeleted') else ''}'>"
                f"<td class='title break'>{name}<br><code class='id'>{esc(o['Id'])}</code></td>"
                f"<td class='break' data-label='Account'>{esc(account_names.get(o.get('AccountId') or '', '—'))}</td>"
                f"<td class='stage' data-label='Stage'>{stage}</td>"
                f"<td class='num' data-label='Amount'>{money(o.get('Amount'))}</td>"
                f"<td class='nowrap' data-label='Close date'>{esc(o.get('CloseDate'))}</td>"
                f"<td data-label='BigTime project'>{esc(o.get('BigTime_Project_Id__c') or '')}</td>"
                f"<td data-label='Modified (UTC)'>{modified}</td>"
                f"<td class='act'>{action}</td></tr>"
            )
        account_options = "<option value=''>(no account)</option>" + "".join(
            f"<option value='{esc(a['Id'])}'>{esc(a['Name'])}</option>" for a in accounts
        )
        toggle = (
            "<a href='./'>Hide deleted</a>" if show_deleted else "<a href='./?deleted=1'>Show deleted (recycle bin)</a>"
        )
        return (
            f"<section><h2>Salesforce opportunities ({len(opps)})</h2><p>{toggle}</p>"
            "<form class='new' method='post' action='opportunity'><strong>New opportunity:</strong>"
            "<input name='name' required placeholder='Name' aria-label='Name'>"
            f"<select name='account' aria-label='Account'>{account_options}</select>"
            f"<select name='stage' aria-label='Stage'>{stage_options('Prospecting')}</select>"
            "<input name='amount' type='number' step='0.01' min='0' placeholder='Amount' aria-label='Amount'>"
            f"<input name='close_date' type='date' value='{self._today()}' aria-label='Close date'>"
            "<button>Create</button></form>"
            "<table class='cards'><thead><tr><th>Opportunity</th><th>Account</th><th>Stage</th>"
            "<th class='num'>Amount</th><th>Close date</th><th>BigTime project</th><th>Modified (UTC)</th><th></th>"
            "</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>"
        )

    def _bigtime(self) -> str:
        bt = self.world.bigtime
        projects = sorted(bt.directory.project_list(show_inactive=True), key=lambda p: p["SystemId"])
        staff = bt.directory.staff_list()
        rows = []
        for p in projects:
            totals = bt.ledger.project_totals(p["SystemId"])
            rows.append(
                f"<tr><td data-label='Id'>{esc(p['SystemId'])}</td>"
                f"<td class='title after-id break'>{esc(p['DisplayName'])}</td>"
                f"<td class='num' data-label='Hours'>{totals['HrsIn']:g}</td>"
                f"<td class='num' data-label='Expenses'>{money(totals['ExpCostIn'])}</td>"
                f"<td class='num' data-label='WIP'>{money(totals['WipTotal'])}</td>"
                f"<td class='num' data-label='Invoiced'>{money(totals['TotalAmt'])}</td>"
                f"<td class='num' data-label='Paid'>{money(totals['PaidAmt'])}</td></tr>"
            )
        invoices = [
            i
            for i in (
                bt.ledger.get_invoice(h["Sid"]) for h in bt.ledger.invoice_history(date(1900, 1, 1), date(2999, 12, 31))
            )
            if i["PaidAmt"] < i["TotalAmt"]
        ]  # the detail: the history's view may lack TotalAmt
        project_options = "".join(f"<option value='{p['SystemId']}'>{esc(p['DisplayName'])}</option>" for p in projects)
        staff_options = "".join(
            f"<option value='{s['SystemId']}'>{esc(s.get('FullName') or s.get('FName'))}</option>" for s in staff
        )
        category_options = "".join(f"<option value='{c['Id']}'>{esc(c['Name'])}</option>" for c in EXPENSE_CODES)
        invoice_options = "".join(
            f"<option value='{i['Sid']}'>#{esc(i['InvoiceNbr'])} · {esc(i['ProjectNm'])} "
            f"· due {money(i['TotalAmt'] - i['PaidAmt'])}</option>"
            for i in invoices
        )
        today = self._today()
        return (
            f"<section><h2>BigTime projects ({len(projects)})</h2>"
            "<table class='cards figures'><thead><tr><th>Id</th><th>Project</th><th class='num'>Hours</th>"
            "<th class='num'>Expenses</th>"
            "<th class='num'>WIP</th><th class='num'>Invoiced</th><th class='num'>Paid</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>"
            "<section><h2>Delivery in BigTime</h2><div class='grid'>"
            "<form method='post' action='bigtime/time'><strong>Log time</strong>"
            f"<label>Project <select name='project'>{project_options}</select></label>"
            f"<label>Who <select name='staff'>{staff_options}</select></label>"
            f"<label>Date <input type='date' name='date' value='{today}'></label>"
            "<label>Hours <input type='number' name='hours' step='0.25' min='0.25' max='24' value='4' required></label>"
            "<label>Notes <input name='notes'></label><button>Log time</button></form>"
            "<form method='post' action='bigtime/expense'><strong>Log an expense</strong>"
            f"<label>Project <select name='project'>{project_options}</select></label>"
            f"<label>Who <select name='staff'>{staff_options}</select></label>"
            f"<label>Category <select name='category'>{category_options}</select></label>"
            f"<label>Date <input type='date' name='date' value='{today}'></label>"
            "<label>Amount <input type='number' name='amount' step='0.01' min='0' required></label>"
            "<label>Notes <input name='notes'></label><button>Log expense</button></form>"
            "<form method='post' action='bigtime/invoice'><strong>Raise an invoice</strong>"
            f"<label>Project <select name='project'>{project_options}</select></label>"
            f"<label>Date <input type='date' name='date' value='{today}'></label>"
            "<label>Fixed amount <input type='number' name='amount' step='0.01' min='0' "
            "placeholder='empty: bill unbilled time and expenses'></label>"
            "<button>Raise invoice</button></form>"
            "<form method='post' action='bigtime/payment'><strong>Record a payment</strong>"
            f"<label>Invoice <select name='invoice'>{invoice_options}</select></label>"
            "<label>Amount <input type='number' name='amount' step='0.01' min='0.01' required></label>"
            "<button>Record payment</button></form>"
            "</div></section>"
        )

    def _log(self) -> str:
        entries = [("Salesforce", e) for e in self.salesforce.log.entries()[-15:]]
        entries += [("BigTime", e) for e in self.bigtime.log.entries()[-15:]]
        entries.sort(key=lambda pair: pair[1].time, reverse=True)
        rows = "".join(
            f"<tr><td>{esc(e.time[11:23])}</td><td>{who}</td><td>{esc(e.method)}</td>"
            f"<td class='break'>{esc(e.path)}</td>"
            f"<td>{e.status}</td><td class='num'>{e.ms:.1f}</td></tr>"
            for who, e in entries[:20]
        )
        return (
            "<section><h2>Recent API requests</h2><table><thead><tr><th>Time (UTC)</th><th>Service</th><th>Method</th>"
            f"<th>Path</th><th>Status</th><th class='num'>ms</th></tr></thead><tbody>{rows}</tbody></table></section>"
        )

    def _about(self) -> str:
        return (
            "<section><h2>Connecting</h2><table>"
            f"<tr><th>Salesforce login URL</th><td><code>{esc(self.salesforce.base_url)}</code></td></tr>"
            f"<tr><th>Salesforce user</th><td><code>{esc(cred.SF_USERNAME)}</code> / "
            f"<code>{esc(cred.SF_PASSWORD)}</code>, "
            f"consumer key <code>{esc(cred.SF_CONSUMER_KEY)}</code></td></tr>"
            f"<tr><th>BigTime API</th><td><code>{esc(self.bigtime.base_url)}</code></td></tr>"
            f"<tr><th>BigTime user</th><td><code>{esc(cred.BT_USERNAME)}</code> / "
            f"<code>{esc(cred.BT_PASSWORD)}</code>, "
            f"client <code>{esc(cred.BT_CLIENT_ID)}</code>, API key <code>{esc(cred.BT_API_KEY)}</code>, "
            f"firm <code>{esc(cred.BT_FIRM_ID)}</code></td></tr>"
            "</table><p>Admin API for scripts: see docs/sandbox.md.</p></section>"
        )
