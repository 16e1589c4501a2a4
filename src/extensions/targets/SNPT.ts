/** `-j SNPT`: source prefix translation, the POSTROUTING/INPUT half of NPTv6 (see DNPT.ts). */
import { nptTarget } from "./DNPT.js";

export const SNPT = nptTarget("SNPT");
