/** Hand-written tunnel inputs the tunnel tests share (this kernel cannot make a WireGuard device to dump). */

/** Hand-written in wg(8)'s dump format (keys are made up: 32 bytes of base64). */
export const KEY_A = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
export const KEY_B = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
export const KEY_C = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
export const WG_DUMP = [
  `wg0\t(hidden)\t${KEY_A}\t51820\t0xca6c`,
  `wg0\t${KEY_B}\t(none)\t192.168.1.11:51820\t10.0.0.2/32,10.244.2.0/24\t1733380000\t1024\t2048\toff`,
  `wg0\t${KEY_C}\t(none)\t[2001:db8::13]:51821\t10.0.0.3/32,fd00::3/128\t0\t0\t0\t25`,
  `wg1\t(none)\t(none)\t0\toff`,
  `wg1\t${KEY_A}\t(none)\t(none)\t(none)\t0\t0\t0\toff`,
  "",
].join("\n");

