/**
 * The YAML subset of the released MMDisCo model configs (conf/model/*.yaml): block mappings and block lists by
 * indentation (a list item may open a mapping, "- key: value"), flow lists of scalars ([1, 2, 4]), plain and quoted
 * scalars (integers, floats, true/false, null / ~, strings; hydra's ${…} stays a string) and # comments. Anchors,
 * tags, multi-line strings and flow mappings are refused with the line number.
 */

export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  indent: number;
  text: string;
  number: number;
}

export class YamlError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'YamlError';
  }
}

export function parseYaml(source: string): YamlValue {
  const lines: Line[] = [];
  source.split(/\r?\n/).forEach((raw, i) => {
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '' || text.trim() === '---') return;
    if (/^\t/.test(raw)) throw new YamlError(i + 1, 'tabs do not indent YAML');
    lines.push({ indent: text.length - text.trimStart().length, text: text.trim(), number: i + 1 });
  });
  if (lines.length === 0) return null;
  const parser = new BlockParser(lines);
  const value = parser.block(lines[0].indent);
  if (!parser.done()) throw new YamlError(parser.peek().number, 'unexpected indentation');
  return value;
}

class BlockParser {
  private at = 0;
  constructor(private readonly lines: Line[]) {}

  done(): boolean {
    return this.at >= this.lines.length;
  }
  peek(): Line {
    return this.lines[this.at];
  }

  /** The block (mapping or list) whose lines start at `indent`. */
  block(indent: number): YamlValue {
    return this.peek().text.startsWith('- ') || this.peek().text === '-' ? this.list(indent) : this.mapping(indent);
  }

  private list(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    while (!this.done() && this.peek().indent === indent && (this.peek().text.startsWith('- ') || this.peek().text === '-')) {
      const line = this.lines[this.at];
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.at++;
        out.push(this.nested(indent, line));
      } else if (keyOf(rest)) {
        // "- key: value" opens a mapping whose further keys sit at the item's content indentation.
        const inner = indent + (line.text.length - rest.length);
        this.lines[this.at] = { indent: inner, text: rest, number: line.number };
        out.push(this.mapping(inner));
      } else {
        this.at++;
        out.push(scalarOrFlow(rest, line.number));
      }
    }
    return out;
  }

  private mapping(indent: number): { [key: string]: YamlValue } {
    const out: { [key: string]: YamlValue } = {};
    while (!this.done() && this.peek().indent === indent) {
      const line = this.lines[this.at];
      const entry = keyOf(line.text);
      if (!entry) throw new YamlError(line.number, `expected "key: value", got '${line.text}'`);
      if (entry.key in out) throw new YamlError(line.number, `duplicate key '${entry.key}'`);
      this.at++;
      out[entry.key] = entry.rest === '' ? this.nested(indent, line) : scalarOrFlow(entry.rest, line.number);
    }
    return out;
  }

  /** The value under a key or item with nothing after it: a deeper block, a list at the same indentation, or null. */
  private nested(indent: number, owner: Line): YamlValue {
    if (this.done()) return null;
    const next = this.peek();
    if (next.indent > indent) return this.block(next.indent);
    if (next.indent === indent && next.text.startsWith('- ') && keyOf(owner.text.replace(/^- /, ''))) return this.list(indent);
    return null;
  }
}

function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) {
      return line.slice(0, i);
    }
  }
  return line;
}

/** "key: rest" (rest may be empty), or undefined when the text is not a mapping entry. */
function keyOf(text: string): { key: string; rest: string } | undefined {
  const quoted = /^(["'])(.*?)\1\s*:(?:\s+(.*))?$/.exec(text);
  if (quoted) return { key: quoted[2], rest: quoted[3] ?? '' };
  const plain = /^([^\s"'[\]{}#,][^:#]*?)\s*:(?:\s+(.*))?$/.exec(text);
  if (plain) return { key: plain[1], rest: plain[2] ?? '' };
  return undefined;
}

function scalarOrFlow(text: string, line: number): YamlValue {
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) throw new YamlError(line, 'a flow list must close on its line');
    const inner = text.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(',').map((item) => scalar(item.trim(), line));
  }
  return scalar(text, line);
}

function scalar(text: string, line: number): YamlValue {
  if (/^[&*!|>{]/.test(text)) throw new YamlError(line, `unsupported YAML construct '${text}'`);
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2) throw new YamlError(line, `unterminated string ${text}`);
    return JSON.parse(text) as string;
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) throw new YamlError(line, `unterminated string ${text}`);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (text === 'null' || text === '~' || text === 'Null' || text === 'NULL') return null;
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?\d+$/.test(text)) return Number.parseInt(text, 10);
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(text)) return Number.parseFloat(text);
  return text;
}
