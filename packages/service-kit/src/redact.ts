// Masks credentials in values that end up in messages: URL passwords and password parameters.
/**
 * `mysql://user:secret@host/db?password=x` → `mysql://user:***@host/db?password=***`. Everything up
 * to the last `@` counts as the password, so an unencoded `@` in it cannot leak its tail (masking
 * too much is the safe side).
 */
export function redactValue(value: string): string {
  return value
    .replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@:]*):.*@(?=[^@]*$)/, '$1:***@')
    .replace(/([?&;](?:password|passwd|pwd|secret|token)=)[^&;#]*/gi, '$1***');
}
