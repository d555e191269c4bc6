/**
 * The UTF-8 byte-order mark (U+FEFF) some editors write at the start of a text file (Notepad,
 * PowerShell's UTF-8 files). JSON senders must not add one, but RFC 8259 §8.1 lets a parser ignore
 * it; it carries nothing, so a JSON body, a JSON file given to the CLI and an id manifest each read
 * their text without it.
 */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
