/**
 * COPY text (the rows' interchange format between connectors and
 * destinations) to the tab-separated text DuckDB's CSV reader takes: COPY's
 * backslash escapes become plain characters, and a field that then holds a
 * quote, tab or line break is quoted. NULL stays `\N` unquoted; a string that
 * reads `\N` is quoted, and the reader is told quoted values are never NULL.
 * Lines without a backslash or a quote (the common case) pass through as they are.
 */

/** The options DuckDB's read_csv needs to read this text back. */
export const TSV_READ_OPTIONS = `delim = '\t', quote = '"', escape = '"', header = false, nullstr = '\\N', allow_quoted_nulls = false, auto_detect = false`;

const UNESCAPE: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

function unescapeCopy(field: string): string {
  return field.replace(/\\(.)/g, (_, c: string) => UNESCAPE[c] ?? c);
}

function tsvField(field: string): string {
  if (field === '\\N') return field;
  const value = field.includes('\\') ? unescapeCopy(field) : field;
  if (value === '' || value === '\\N' || /["\t\n\r]/.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

/** One COPY text line (without its newline) as a TSV line (without its newline). */
export function copyLineToTsv(line: string): string {
  if (!line.includes('\\') && !line.includes('"') && !line.includes('\t\t') && !line.startsWith('\t') && !line.endsWith('\t') && line !== '') {
    return line;
  }
  return line.split('\t').map(tsvField).join('\t');
}

/**
 * Converts a stream of COPY text chunks, keeping the unfinished last line of
 * each chunk for the next one. `push` returns the converted complete lines and
 * how many rows they hold.
 */
export class CopyToTsv {
  private rest = '';

  push(chunk: string): { text: string; rows: number } {
    const data = this.rest + chunk;
    const end = data.lastIndexOf('\n');
    if (end < 0) {
      this.rest = data;
      return { text: '', rows: 0 };
    }
    this.rest = data.slice(end + 1);
    const lines = data.slice(0, end).split('\n');
    for (let i = 0; i < lines.length; i++) lines[i] = copyLineToTsv(lines[i]!);
    return { text: `${lines.join('\n')}\n`, rows: lines.length };
  }

  /** Fails when the stream ended inside a line (COPY text always ends with a newline). */
  end(): void {
    if (this.rest !== '') throw new Error('the row stream ended in the middle of a row');
  }
}
