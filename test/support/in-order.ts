/** The needles not found in the text in the order given (each searched after the one before it): empty when all are there in order. */
export function missingInOrder(hay: string, needles: readonly string[]): string[] {
  let from = 0;
  return needles.filter((n) => {
    const at = hay.indexOf(n, from);
    if (at < 0) return true;
    from = at + n.length;
    return false;
  });
}
