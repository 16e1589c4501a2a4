/**
 * A save whose chain names are what iptables accepts but markup and id schemes trip on, for
 * the picture outputs' tests. The rules send a tcp packet to the node through every chain.
 */
// What iptables-save (1.8.9, nf_tables) printed after iptables-restore took these chains in a
// network namespace. It also takes `"q"` and `a"b` from `iptables -N` but then prints a save it
// cannot restore, so they are left out here.
export const ODD_NAMES_SAVE = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:#quot; - [0:0]
:'q' - [0:0]
:<b>x</b> - [0:0]
:<img/src=x> - [0:0]
:a-b - [0:0]
:a\\b - [0:0]
:a_b - [0:0]
:end - [0:0]
:style:a#b;c - [0:0]
:x&amp; - [0:0]
:日本 - [0:0]
-A INPUT -p tcp -j a-b
-A #quot; -j 日本
-A 'q' -j <img/src=x>
-A <b>x</b> -j 'q'
-A <img/src=x> -j a\\b
-A a-b -j a_b
-A a\\b -j #quot;
-A a_b -j <b>x</b>
-A end -j style:a#b;c
-A style:a#b;c -j x&amp;
-A x&amp; -m comment --comment "<script>alert(1)</script> \\"x\\" \\\\N" -j DROP
-A 日本 -j end
COMMIT
`;
/** The chains a tcp packet to the node goes through, in order (the last drops it). */
export const ODD_NAMES_CHAINS = ["INPUT", "a-b", "a_b", "<b>x</b>", "'q'", "<img/src=x>", "a\\b", "#quot;", "日本", "end", "style:a#b;c", "x&amp;"];
