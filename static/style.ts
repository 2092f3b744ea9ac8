/**
 * The portal's style sheet, as a string so that `deno run`, `deno bundle` and `deno compile`
 * ship it without reading files. Colours keep at least 4.5:1 contrast; nothing is told by
 * colour alone (badges carry words); focus is always visible; one column on a phone.
 * @module
 */

/** The CSS served at /static/style.css. */
export const STYLE_CSS = `
:root{--fg:#1a1a1a;--muted:#4a4a4a;--bg:#fff;--line:#c8c8c8;--link:#0b4fb3;--accent:#0b4fb3;
--urgent:#a31515;--private:#5a3d8a;--new:#0b4fb3;--ok:#1b6b2a;--bad:#a31515;--soft:#f3f5f8}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--link)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,audio:focus-visible,summary:focus-visible{outline:3px solid #111;outline-offset:2px;box-shadow:0 0 0 5px #ffd54a}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem}
.skip:focus{left:.5rem;z-index:10}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header.top{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;padding:.6rem 1rem;border-bottom:1px solid var(--line);background:var(--soft)}
header.top .brand{font-weight:700;font-size:1.1rem;color:var(--fg);text-decoration:none}
header.top nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}
header.top form{display:inline;margin:0}
main{max-width:52rem;margin:0 auto;padding:1rem}
footer.foot{max-width:52rem;margin:0 auto;padding:.5rem 1rem 1.5rem;color:var(--muted);font-size:.85rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem;line-height:1.25}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
button,.button{font:inherit;min-height:44px;padding:.5rem 1rem;border:2px solid var(--accent);border-radius:6px;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-flex;align-items:center}
button.quiet{background:#fff;color:var(--accent)}
input[type=text],input[type=password],input[type=email]{display:block;font:inherit;width:100%;max-width:24rem;min-height:44px;padding:.4rem .6rem;border:2px solid #6b6b6b;border-radius:6px;color:var(--fg);background:#fff}
select,textarea{display:block;font:inherit;width:100%;max-width:24rem;min-height:44px;padding:.4rem .6rem;border:2px solid #6b6b6b;border-radius:6px;color:var(--fg);background:#fff}
textarea{max-width:36rem;resize:vertical}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
.hint{color:var(--muted);font-size:.9rem;margin:.2rem 0 0}
form.stack button{margin-top:1rem}
.error{border-left:6px solid var(--bad);background:#fdeeee;padding:.6rem .9rem}
.ok{border-left:6px solid var(--ok);background:#eaf6ec;padding:.6rem .9rem}
.note{border-left:6px solid var(--private);background:#f3effa;padding:.6rem .9rem}
.tabs{display:flex;gap:.5rem;flex-wrap:wrap;margin:0 0 1rem;padding:0;list-style:none}
.tabs a{display:inline-block;padding:.45rem .9rem;border:2px solid var(--line);border-radius:999px;text-decoration:none;min-height:44px;line-height:1.6}
.tabs a[aria-current=page]{border-color:var(--accent);background:var(--accent);color:#fff}
.count{color:var(--muted);margin:.25rem 0 .75rem}
ol.msgs{list-style:none;margin:0;padding:0;border-top:1px solid var(--line)}
.msg{border-bottom:1px solid var(--line);display:grid;grid-template-columns:minmax(0,1fr) auto;align-items:center}
.msg>a:not(.play){display:grid;grid-template-columns:1fr auto;gap:.1rem 1rem;padding:.7rem .5rem;text-decoration:none;color:var(--fg);min-width:0}
.msg>a:not(.play):hover{background:var(--soft)}
.msg>.thread,.msg>.row-player{grid-column:1/-1}
.msg.fresh{box-shadow:inset 5px 0 0 var(--accent)}
.msg.fresh>a:not(.play){padding-left:.9rem}
a.play{display:inline-flex;align-items:center;gap:.35rem;min-height:44px;min-width:44px;margin:0 .25rem 0 .5rem;padding:.35rem .9rem;border:2px solid var(--accent);border-radius:999px;color:var(--link);font-weight:600;text-decoration:none;white-space:nowrap}
a.play:hover{background:var(--soft)}
a.play.playing{background:var(--accent);color:#fff}
.play-icon{font-size:.8rem}
audio.row-player{max-width:none;margin:.25rem .5rem .75rem;width:calc(100% - 1rem)}
.since{display:inline-block;font-size:.8rem;font-weight:700;color:var(--link);margin-right:.35rem}
.since::before{content:"● ";font-size:.7rem}
.visit{border-left:6px solid var(--accent);background:var(--soft);padding:.5rem .9rem;margin:0 0 1rem}
form.heard{margin:1rem 0 .5rem}
form.heard p{margin:.25rem 0}
dl.facts dd .hint{display:block}
.msg .who{font-size:1.05rem;color:var(--link);text-decoration:underline;text-underline-offset:2px}
.msg.unread .who{font-weight:700}
.msg .when{color:var(--muted);grid-column:1}
.msg .dur{grid-column:2;grid-row:1;text-align:right;font-variant-numeric:tabular-nums}
.msg .subject{grid-column:1/-1;color:var(--muted);font-size:.95rem;overflow-wrap:anywhere}
.msg .badges{grid-column:1/-1}
.badge{display:inline-block;font-size:.8rem;font-weight:700;letter-spacing:.02em;padding:.05rem .5rem;border-radius:4px;color:#fff;margin-right:.35rem}
.badge.new{background:var(--new)}.badge.urgent{background:var(--urgent)}.badge.private{background:var(--private)}
.badge.plain{background:#fff;color:var(--fg);border:1px solid #6b6b6b}
.badge.answered{background:var(--ok)}
.badge.kind{background:transparent;color:var(--fg);border:1px solid var(--muted);border-radius:999px;font-weight:600}
ul.thread,ol.thread{margin:.25rem 0 .75rem;padding-left:1.25rem;border-left:3px solid var(--line)}
ul.thread li,ol.thread li{margin:.3rem 0;color:var(--muted);list-style:none}
.thread .node{color:var(--fg)}
.pager{display:flex;justify-content:space-between;align-items:center;gap:1rem;margin:1rem 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1rem}
dl.facts dt{font-weight:600}dl.facts dd{margin:0;overflow-wrap:anywhere}
@media (max-width:30rem){dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.4rem}}
audio{width:100%;max-width:36rem;display:block;margin:.5rem 0}
section.play,section.forward,section.thread{margin:1.25rem 0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
.table-wrap{overflow-x:auto;max-width:100%;background:linear-gradient(to right,var(--bg) 40%,transparent) left/2.5rem 100% no-repeat local,linear-gradient(to left,var(--bg) 40%,transparent) right/2.5rem 100% no-repeat local,radial-gradient(farthest-side at 0 50%,rgba(0,0,0,.3),transparent) left/.8rem 100% no-repeat scroll,radial-gradient(farthest-side at 100% 50%,rgba(0,0,0,.3),transparent) right/.8rem 100% no-repeat scroll}
@media (max-width:40rem){.table-wrap>table:has(tr>:nth-child(4)){min-width:40rem}.table-wrap>table:has(tr>:nth-child(4)) :is(th,td):not(.detail){white-space:nowrap}.table-wrap td.detail{min-width:18rem}}
td.detail{overflow-wrap:anywhere;min-width:12rem}
ul.changes{margin:.25rem 0 0;padding-left:1rem}
.bad{color:var(--bad);font-weight:600}.good{color:var(--ok);font-weight:600}
.crumbs{margin:.25rem 0 0}
.hint.file-note{margin:.75rem 0}
ul.sections{list-style:none;margin:0 0 1rem;padding:0;border-top:1px solid var(--line)}
ul.sections li{display:flex;flex-direction:column;gap:.1rem;padding:.7rem .25rem;border-bottom:1px solid var(--line)}
ul.sections a{font-weight:600;font-size:1.05rem}
ul.sections .summary{overflow-wrap:anywhere}
fieldset.group{border:1px solid var(--line);border-radius:6px;margin:1rem 0;padding:.25rem 1rem 1rem;min-width:0}
fieldset.group>legend{font-weight:700;font-size:1.05rem;padding:0 .35rem}
.field{margin:0 0 .25rem}
.field.invalid{border-left:4px solid var(--bad);padding-left:.6rem}
.field.invalid input,.field.invalid select,.field.invalid textarea{border-color:var(--bad)}
.field-error{color:var(--bad);font-weight:600;margin:.25rem 0 0}
.field .fixed{color:var(--muted);font-style:italic;font-size:.9rem;margin:.2rem 0 0}
.field .status{margin:0 0 .25rem}
.check{display:grid;grid-template-columns:auto 1fr;gap:0 .6rem;align-items:center;margin:.75rem 0 .25rem}
.check>input[type=checkbox]{width:1.5rem;height:1.5rem;margin:0}
.check>label{margin:0}
.check>.hint,.check>.fixed,.check>.field-error{grid-column:2}
input:disabled,select:disabled,textarea:disabled{background:var(--soft);color:var(--muted);border-style:dashed;cursor:not-allowed}
fieldset.rule{border:1px dashed var(--line);border-radius:6px;margin:.75rem 0;padding:.25rem .75rem .75rem;min-width:0}
fieldset.rule>legend{font-weight:600;padding:0 .25rem}
.actions{display:flex;flex-wrap:wrap;gap:.5rem 1rem;margin:1rem 0}
.error-summary h2{margin:.25rem 0 .5rem;font-size:1.1rem}
.error-summary ul{margin:0;padding-left:1.25rem}
section.probe{margin:1rem 0}
section.probe h2{margin:.25rem 0}
ol.steps{list-style:none;margin:.5rem 0 0;padding:0}
ol.steps li{margin:.25rem 0;overflow-wrap:anywhere}
.step .mark{display:inline-block;width:1.2em;font-weight:700}
.step.passed .mark{color:var(--ok)}.step.failed .mark{color:var(--bad)}.step.skipped .mark,.step.skipped .state{color:var(--muted)}
@media (min-width:40rem){fieldset.rule{display:grid;grid-template-columns:1fr 1fr;gap:0 1rem}fieldset.rule>legend{grid-column:1/-1}}
@media (max-width:30rem){main{padding:.75rem}h1{font-size:1.3rem}.msg>a:not(.play){padding:.7rem .25rem}a.play{padding:.35rem .6rem;margin-left:.25rem}}
@media (prefers-color-scheme:dark){:root{--fg:#ececec;--muted:#c2c2c2;--bg:#141414;--line:#4a4a4a;--link:#8ab4ff;--soft:#1f2329;--accent:#2f6fd6}
input[type=text],input[type=password],input[type=email],select,textarea{background:#1c1c1c;color:var(--fg);border-color:#8a8a8a}
input:disabled,select:disabled,textarea:disabled{background:var(--soft);color:var(--muted)}
.field-error,.step.failed .mark{color:#ff9a9a}.step.passed .mark{color:#7ddc8c}.field.invalid{border-left-color:#ff9a9a}
button.quiet{background:transparent;color:var(--link)}.badge.plain{background:transparent;color:var(--fg)}
.bad{color:#ff9a9a}.good{color:#7ddc8c}
.error{background:#3a1d1d}.ok{background:#1d3322}.note{background:#2a2238}.skip{background:#000}}
/* dashboard */
.muted{color:var(--muted)}
ul.tiles{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;padding:0}
ul.tiles li{border:1px solid var(--line);border-radius:.4rem;padding:.5rem .75rem;background:var(--soft)}
ul.tiles strong{font-size:1.25rem}
ul.alerts{padding-left:1rem}
figure.chart{margin:1rem 0}
figure.chart figcaption{font-weight:600;margin-bottom:.25rem}
figure.chart svg{width:100%;height:auto;max-height:14rem;display:block}
figure.chart .bar{fill:var(--accent)}
figure.chart .tick line{stroke:var(--line)}
figure.chart text{font-size:11px;fill:var(--muted)}
/* audit log */
form.filters{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:0 1rem;align-items:start}
form.filters .actions{grid-column:1/-1;align-items:center}
form.filters input[type=date]{display:block;font:inherit;width:100%;max-width:24rem;min-height:44px;padding:.4rem .6rem;border:2px solid #6b6b6b;border-radius:6px;color:var(--fg);background:#fff}
@media (prefers-color-scheme:dark){form.filters input[type=date]{background:#1c1c1c;border-color:#8a8a8a}}
/* subscriber portal II */
.downloads{display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;margin:.25rem 0 .75rem}
.voice .hint{margin:0}
form.search{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:flex-end;margin:0 0 .75rem}
form.search label{margin:.25rem 0}
form.search input[type=search],form.search input[type=date]{display:block;font:inherit;min-height:44px;padding:.4rem .6rem;border:2px solid #6b6b6b;border-radius:6px;color:var(--fg);background:#fff;max-width:100%}
form.search .q{flex:1 1 14rem}
form.search .q input{width:100%}
form.search .go{display:flex;gap:1rem;align-items:center}
@media (prefers-color-scheme:dark){form.search input[type=search],form.search input[type=date]{background:#1c1c1c;border-color:#8a8a8a;color-scheme:dark}}
/* sync & restore (jobs) */
section.jobs-form{margin:0 0 2rem}
section.jobs-form form{margin:.75rem 0}
section.jobs-form .hint{display:block}
section.jobs-form input[type=date]{display:block;font:inherit;width:100%;max-width:24rem;min-height:44px;padding:.4rem .6rem;border:2px solid #6b6b6b;border-radius:6px;color:var(--fg);background:#fff}
ol.progress{font-family:ui-monospace,monospace;font-size:.9rem;overflow-wrap:anywhere}
form.confirm{border-left:6px solid var(--accent);background:var(--soft);padding:.6rem .9rem;margin:1rem 0}
@media (prefers-color-scheme:dark){section.jobs-form input[type=date]{background:#1c1c1c;border-color:#8a8a8a}}
`;
