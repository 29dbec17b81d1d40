/**
 * RFC 4180 records, fed one physical line at a time (a quoted field may hold commas, `""`
 * escapes and line breaks, so one record may span lines). Scans with indexOf, never per character.
 * A quote inside an unquoted field is taken literally; text after a closing quote is an error.
 */

export class CsvRecordParser {
  /** Fields of the record, valid once feed() returned true. */
  fields: string[] = [];
  /** Set when the record is malformed (then `fields` is incomplete). */
  error: string | undefined;
  /** True between lines of a record whose quoted field is still open. */
  open = false;
  private field = '';

  /** Forget any record in progress. */
  reset(): void {
    this.fields = [];
    this.error = undefined;
    this.open = false;
    this.field = '';
  }

  /**
   * Feed the next physical line (without its line break). Returns true when the record is
   * complete (possibly with `error` set), false when a quoted field continues on the next line.
   */
  feed(text: string): boolean {
    const n = text.length;
    let i = 0;
    let quoted: boolean;
    if (this.open) {
      this.field += '\n';
      quoted = true;
    } else {
      this.fields = [];
      this.error = undefined;
      this.field = '';
      if (text.indexOf('"') === -1) {
        this.fields = text.split(',');
        return true;
      }
      quoted = false;
    }
    for (;;) {
      if (quoted) {
        const q = text.indexOf('"', i);
        if (q === -1) {
          this.field += i === 0 ? text : text.slice(i);
          this.open = true;
          return false;
        }
        if (text.charCodeAt(q + 1) === 34) {
          this.field += text.slice(i, q + 1);
          i = q + 2;
          continue;
        }
        this.fields.push(this.field + text.slice(i, q));
        this.field = '';
        quoted = false;
        i = q + 1;
        if (i === n) break;
        if (text.charCodeAt(i) !== 44) {
          this.error = `malformed CSV: text after the closing quote of field ${this.fields.length}`;
          break;
        }
        i++;
      }
      // At the start of a field.
      if (text.charCodeAt(i) === 34) {
        quoted = true;
        i++;
        continue;
      }
      const c = text.indexOf(',', i);
      if (c === -1) {
        this.fields.push(text.slice(i));
        break;
      }
      this.fields.push(text.slice(i, c));
      i = c + 1;
    }
    this.open = false;
    return true;
  }
}
