"""The sandbox console's style sheet: a page that fits the browser window it is opened in.

Nobody should scroll sideways to reach a button, from a wide window down to 640 CSS pixels (a
1280-pixel screen at 200 %): the page's one wide table, the opportunities, has its stage control
and its action in as few columns as it can, and the two tables with buttons or many figures
become cards below ``NARROW`` — each row a block, each cell with its column's name, in the
order the table has, so the keyboard's tab order still follows the screen (docs/sandbox.md).
"""

from __future__ import annotations

# The widest window (CSS pixels, the vertical scroll bar included) that shows cards. The
# opportunities' table needs 911 with DejaVu Sans, the wide default of a bare Linux (measured with
# tests/console_fit_probe.py); 960 leaves room for a font wider still, and narrower fonts only
# leave more. Names that are one long word break anywhere rather than widen their column.
NARROW = 960

STYLE = (
    """
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}
header{background:#0b5cab;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;opacity:.9}main{padding:16px 24px;max-width:1400px}
section{background:#fff;border:1px solid #d8dde6;border-radius:6px;padding:12px 16px;margin:0 0 16px}
h2{font-size:16px;margin:0 0 8px}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eef0f3;vertical-align:middle}
th{font-weight:600;color:#54698d;font-size:12px;text-transform:uppercase}
tr.deleted td{color:#999}tr.deleted td.title{text-decoration:line-through}
form.inline{display:inline}.msg{padding:8px 12px;border-radius:4px;margin:0 0 12px}
.ok{background:#e3f5e8;border:1px solid #7bc38f}.err{background:#fdecea;border:1px solid #e49b94}
.nowrap{white-space:nowrap}.num{white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums}
code{background:#eef0f3;padding:1px 4px;border-radius:3px}code.id{font-size:12px;overflow-wrap:normal}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(300px,100%),1fr));gap:12px}
label{display:block;margin:4px 0}input,select{font:inherit;max-width:100%}button{font:inherit;cursor:pointer}
:focus-visible{outline:2px solid #0b5cab;outline-offset:1px}
.new{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:0 0 8px}
.stage form{display:flex;flex-wrap:wrap;gap:4px}td.act form{display:inline-block;margin:2px 0}
.break{overflow-wrap:anywhere;min-width:7em}
"""
    + f"@media (max-width:{NARROW}px){{"
    + """
header,main{padding-left:12px;padding-right:12px}section{padding:10px 12px}
table.cards,table.cards tbody{display:block}table.cards thead{display:none}
table.cards tr{display:grid;grid-template-columns:repeat(auto-fill,minmax(130px,1fr));gap:4px 12px;
  padding:8px 0;border-bottom:1px solid #d8dde6}
table.cards td{display:block;border:0;padding:0;text-align:left}
table.cards td[data-label]::before{content:attr(data-label);display:block;font-size:11px;font-weight:600;
  color:#54698d;text-transform:uppercase}
table.cards td.title{grid-column:1/-1;font-weight:600}table.cards td.after-id{grid-column:2/-1}
table.cards td.stage{grid-column:span 2}table.figures tr{grid-template-columns:repeat(auto-fill,minmax(100px,1fr))}
}
"""
)

__all__ = ["NARROW", "STYLE"]
