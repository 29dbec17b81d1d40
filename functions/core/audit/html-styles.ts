/** The stylesheet of report.html (inlined in its <style>; no fonts, images or URLs). */

export const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2330;background:#f5f6f8}
main{max-width:1240px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #d5d9e0;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.muted{color:#5c6475;font-weight:normal}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:10px 14px;min-width:130px}
.card .n{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}
.card .l{color:#5c6475;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;background:#fff;width:100%;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eceff3;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:nth-child(even){background:#fafbfc}
.sev{display:inline-block;white-space:nowrap;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.sev-critical{background:#8e1b1b}.sev-high{background:#c2410c}.sev-medium{background:#a16207}.sev-low{background:#4b5563}
.card.sev-card-critical{border-left:5px solid #8e1b1b}.card.sev-card-high{border-left:5px solid #c2410c}
.card.sev-card-medium{border-left:5px solid #a16207}.card.sev-card-low{border-left:5px solid #4b5563}
code,.id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
section.licensee{background:#fff;border:1px solid #d5d9e0;border-radius:6px;padding:4px 16px 12px;margin:24px 0}
section.licensee h2{border:0;margin-top:12px}
figure{margin:12px 0 20px}
figcaption{font-weight:600;margin-bottom:4px}
svg.chart{width:100%;height:auto;display:block;background:#fff}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:6px 16px;margin:6px 0 0;padding:0;font-size:13px}
.legend li{display:flex;align-items:center;gap:6px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px}
.sw-quota{height:0;width:22px;border-top:2px dashed #111;border-radius:0}
.sw-line{height:0;width:22px;border-top:3px solid #1f4e79;border-radius:0}
.sw-forecast{height:0;width:22px;border-top:3px dashed #1f4e79;border-radius:0}
.note{color:#5c6475;font-size:13px}
.over{color:#b91c1c;font-weight:600}
#findings{table-layout:fixed;font-size:12.5px}
#findings th,#findings td{padding:4px 6px}
#findings .sev{font-size:11px;padding:1px 6px}
#findings col.c-sev{width:74px}#findings col.c-lic{width:8.5%}#findings col.c-rule{width:13%}
#findings col.c-subj{width:11%}#findings col.c-period{width:88px}#findings col.c-num{width:11%}
#findings col.c-apps{width:14%}
#findings td{word-break:normal;overflow-wrap:anywhere}
#findings .sub{font-size:11.5px;color:#5c6475;font-weight:normal}
#findings th .sub{font-size:11px}
#findings .name{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:2;overflow:hidden}
#findings .sub.over{color:#b91c1c;font-weight:600}
#findings .owed{font-weight:600}
#findings .seg{display:inline-block;max-width:100%}
#findings code.subject{word-break:normal}
#findings .id{font-size:11px;word-break:break-all;margin-top:2px}
.nw{white-space:nowrap}
#findings td.num{white-space:normal}
#findings .obs{white-space:nowrap;font-weight:600}
#findings details summary{cursor:pointer;list-style:none}
#findings details summary::-webkit-details-marker{display:none}
#findings .more{color:#1f4e79;text-decoration:underline dotted}
#findings ul.apps-all{margin:4px 0 0;padding:2px 0 0;list-style:none;font-size:11.5px;border-top:1px dotted #c3c8d1}
#findings ul.apps-all li{display:flex;flex-wrap:wrap;column-gap:6px}
#findings ul.apps-all .v{margin-left:auto;color:#5c6475;white-space:nowrap;font-variant-numeric:tabular-nums}
footer{margin:32px 0 8px;color:#5c6475;font-size:12px}
`;
