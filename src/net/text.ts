/**
 * Text from a file or the wire as it may be shown (a terminal, a label, a page, a log line): its control
 * characters (C0, DEL, C1) as "?", so that an escape sequence or a newline in it cannot act.
 */
export function controlsShown(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this replaces
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
