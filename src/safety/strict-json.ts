/**
 * JSON.parse that refuses what the engine and we would read differently. Go's decoder (the Docker
 * engine's) keeps the LAST of duplicate keys and JavaScript's does too, but a check that walks one
 * parse while another layer re-reads the text can disagree; and `__proto__` as a key changes an
 * object's prototype when a library copies it. Both are refused, with the path where they stand.
 */
export class StrictJsonError extends Error {}

export function parseStrictJson(text: string): unknown {
  scanKeys(text);
  return JSON.parse(text);
}

/**
 * Walks the text's structure without building values: a stack of open containers, each object's
 * keys so far. Malformed text is left to JSON.parse to report; only what it would silently accept
 * is refused here.
 */
function scanKeys(text: string): void {
  const stack: { keys: Set<string> | null; path: string; expectKey: boolean; lastKey: string }[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      const start = i;
      i++;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === 0x5c /* \ */) i += 2;
        else if (c === 0x22) break;
        else i++;
      }
      i++;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        let key: string;
        try {
          key = JSON.parse(text.slice(start, i)) as string;
        } catch {
          return; // malformed: JSON.parse will say so
        }
        const where = top.path ? `${top.path}.${key}` : key;
        if (key === "__proto__")
          throw new StrictJsonError(`${where}: "__proto__" is not a key this API takes`);
        if (top.keys.has(key)) throw new StrictJsonError(`${where}: given twice (each key once)`);
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      continue;
    }
    const top = stack[stack.length - 1];
    switch (ch) {
      case 0x7b /* { */:
      case 0x5b /* [ */:
        {
          const parentPath = top ? childPath(top) : "";
          stack.push({
            keys: ch === 0x7b ? new Set() : null,
            path: parentPath,
            expectKey: ch === 0x7b,
            lastKey: "",
          });
          break;
        }
      case 0x7d /* } */:
      case 0x5d /* ] */:
        stack.pop();
        break;
      case 0x2c /* , */:
        if (top?.keys) top.expectKey = true;
        break;
    }
    i++;
  }
}

function childPath(parent: { keys: Set<string> | null; path: string; lastKey: string }): string {
  const part = parent.keys ? parent.lastKey : "[]";
  return parent.path ? `${parent.path}.${part}` : part;
}
