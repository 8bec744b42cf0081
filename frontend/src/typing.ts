/* Whether a key press goes into a text field (then letter hotkeys are off). Shared by
 * the page bundles (app.ts, moderation.ts); esbuild inlines it into each. */

export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !["radio", "checkbox", "button", "submit", "reset", "range", "color", "file"].includes(
      target.type,
    );
  }
  return false;
}
