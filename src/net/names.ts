/** { NAME: index } of a list of snake_case names: the numbers typed arrays on the hot path are indexed by. */
export function indexOf<const T extends readonly string[]>(names: T): { readonly [K in T[number] as Uppercase<K>]: number } {
  return Object.freeze(Object.fromEntries(names.map((n, i) => [n.toUpperCase(), i]))) as { readonly [K in T[number] as Uppercase<K>]: number };
}
