import { it } from "vitest";
import { seed001, seed002 } from "../support/cluster-fixtures.js";
import { clusterTraceText, clusterWhyDroppedText } from "../../src/explain/cluster-text.js";
import { PLAIN } from "../../src/explain/colour.js";
it("x", () => {
for (const e of [seed002(), seed001()]) { console.log(clusterTraceText(e, { palette: PLAIN })); console.log(clusterWhyDroppedText(e, { palette: PLAIN })); }
});
