/**
 * @module bench/table
 * The bench's plain-text tables: columns as wide as their widest cell, a dashed rule
 * under the header, text columns left-aligned and numbers right-aligned.
 */

/** Formats `rows` under `header`; columns listed in `leftAligned` pad on the right. */
export function formatColumns(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  leftAligned: readonly number[] = [0],
): string {
  const widths = header.map((_, col) =>
    Math.max(...[header, ...rows].map((row) => row[col]!.length)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, col) =>
        leftAligned.includes(col) ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!),
      )
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
