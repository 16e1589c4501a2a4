/** Every test sees the library as users do: with the chevrotain grammar loaded (see grammar/chunk-parser.ts). */
import "../../grammar/save.js";
