// Limits on JSON text from clients, checked before JSON.parse: nesting depth and numbers that overflow.

/**
 * Deepest nesting of objects and arrays accepted in a request body (the body object is level 1)
 * and in a JSON-string field (params, param_schema…). Deeper documents are refused with 400
 * before parsing: recursive code downstream (schema validation, serialisation, the worker) must
 * never meet 10,000 levels.
 */
export const MAX_JSON_DEPTH = 64;

/** What is wrong with the text, or null; `detail` names the limit for the error's details. */
export interface JsonTextProblem {
  message: string;
  detail: Record<string, unknown>;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

function isNumberChar(c: number): boolean {
  // digits, '.', 'e', 'E', '+', '-'
  return (c >= ZERO && c <= NINE) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === MINUS;
}

/**
 * One pass over `text` (iterative, no recursion, no allocation on the common path): the nesting
 * depth of objects and arrays outside strings, and every number literal long enough or with an
 * exponent big enough to become ±Infinity (JSON.parse would turn 1e400 into Infinity, which
 * JSON.stringify then writes as null: a silent change of the user's data). Malformed text is left
 * to JSON.parse to report.
 */
export function checkJsonText(text: string, maxDepth = MAX_JSON_DEPTH): JsonTextProblem | null {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Jump to the closing quote: one not preceded by an odd run of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j < 0) return null; // unterminated: JSON.parse reports it
        let slashes = 0;
        for (let k = j - 1; text.charCodeAt(k) === BACKSLASH; k--) slashes++;
        if (slashes % 2 === 0) break;
      }
      i = j;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) {
        return {
          message: `JSON nests deeper than ${maxDepth} levels of objects and arrays`,
          detail: { max_depth: maxDepth },
        };
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    } else if ((c >= ZERO && c <= NINE) || c === MINUS) {
      let j = i + 1;
      let exponent = false;
      while (j < n && isNumberChar(text.charCodeAt(j))) {
        const d = text.charCodeAt(j);
        if (d === 0x65 || d === 0x45) exponent = true;
        j++;
      }
      // A double overflows past ~1.8e308: only an exponent or more than 300 characters can get there.
      if (exponent || j - i > 300) {
        const literal = text.slice(i, j);
        const value = Number(literal);
        if (value === Infinity || value === -Infinity) {
          const shown =
            literal.length > 40 ? `${literal.slice(0, 40)}… (${literal.length} characters)` : literal;
          return {
            message: `JSON number ${shown} is out of range (larger than 1.7976931348623157e308)`,
            detail: { max_number: Number.MAX_VALUE },
          };
        }
      }
      i = j - 1;
    }
  }
  return null;
}
