/** The interactive page's style: on a wide screen the packet and the tools side by side, the trace (as wide as its drawing wants) below; one below the other on a narrow one. */
export const PAGE_STYLE = `
:root { color-scheme: light; --red: #b3261e; --green: #1b6e20; --yellow: #8a6100; --cyan: #006a7a; --line: #d0d4da; --hit: #fff3c4; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #1d1f23; background: #f6f7f9; }
header { padding: 8px 16px; background: #fff; border-bottom: 1px solid var(--line); display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 15px; margin: 0 0 6px; }
h3 { font-size: 14px; margin: 0 0 4px; font-weight: normal; }
#status { margin: 0; color: #444; }
main { display: grid; grid-template-columns: minmax(420px, 3fr) minmax(320px, 2fr); grid-template-areas: "packet tools" "trace trace"; gap: 12px; padding: 12px; align-items: start; }
#packet-panel { grid-area: packet; }
#trace-panel { grid-area: trace; }
#tools { grid-area: tools; }
@media (max-width: 1000px) { main { grid-template-columns: 1fr; grid-template-areas: "packet" "trace" "tools"; } }
main > section, aside > section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px; min-width: 0; }
aside { display: flex; flex-direction: column; gap: 12px; min-width: 0; }
label { display: block; margin: 4px 0; }
label.check, #fields label, #mentions-form label { display: inline-block; margin-right: 8px; }
input, select, button { font: inherit; }
#packet { width: 100%; font-family: ui-monospace, monospace; padding: 4px; }
input[aria-invalid="true"] { outline: 2px solid var(--red); }
#packet-error { color: var(--red); min-height: 1.4em; margin: 4px 0; font-family: ui-monospace, monospace; white-space: pre-wrap; }
fieldset { border: 1px solid var(--line); border-radius: 4px; margin: 8px 0; }
:focus-visible { outline: 3px solid #2f6fde; outline-offset: 1px; }
pre { margin: 0; font: 12.5px/1.35 ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
.packet { font-family: ui-monospace, monospace; font-weight: 600; margin: 0 0 6px; }
.summary { margin: 0 0 8px; padding-left: 0; list-style: none; }
.summary li { font-family: ui-monospace, monospace; padding: 2px 6px; border-left: 4px solid; margin: 2px 0; }
.summary li.lost, .outcome.lost { border-color: var(--red); }
.summary li.through, .outcome.through { border-color: var(--green); }
.summary li.unknown, .outcome.unknown { border-color: #9aa0a6; }
.outcome { border-left: 6px solid; padding: 4px 8px; margin: 8px 0; background: #fbfbfc; }
.outcome.lost h3 { background: #fde7e5; }
.outcome.through h3 { background: #e6f4e7; }
.outcome.unknown h3 { background: #eef0f2; }
ol.steps { list-style: none; margin: 4px 0; padding: 0; }
.step button { display: block; width: 100%; text-align: left; background: none; border: 1px solid transparent; border-radius: 3px; padding: 1px 2px; cursor: pointer; color: inherit; }
.step button:hover { border-color: var(--line); background: #f0f4ff; }
.step.tried { opacity: 0.75; }
.red { color: var(--red); font-weight: 600; }
.green { color: var(--green); font-weight: 600; }
.yellow { color: var(--yellow); }
.cyan { color: var(--cyan); }
.dim { color: #5f6368; }
.problems { color: var(--yellow); font-size: 12px; }
ol.rules { list-style: none; margin: 0; padding: 0; max-height: 40vh; overflow: auto; border-top: 1px solid var(--line); }
ol.rules li { border-bottom: 1px solid #eceef1; }
ol.rules button { display: block; width: 100%; text-align: left; background: none; border: 0; padding: 3px 4px; cursor: pointer; color: inherit; }
ol.rules button:hover { background: #f0f4ff; }
ol.rules .where { color: #5f6368; font-size: 12px; }
ol.rules .why { color: var(--cyan); font-size: 12px; font-family: ui-monospace, monospace; }
ol.rules li.hit { background: var(--hit); outline: 2px solid #e0b400; }
#chain-rules { max-height: 60vh; }
.count, .note { font-size: 12px; color: #5f6368; margin: 4px 0; }
#search { width: 100%; }
#trace.stale { opacity: 0.45; }
#trace .netfate-figure.stale { opacity: 0.45; }
/* The drawing is as wide as the trace is: it scrolls inside its column rather than over the tools. */
#trace .netfate-figure { max-width: 100%; overflow-x: auto; margin-bottom: 12px; border-bottom: 1px solid var(--line); }
`;
