// Run in the page by tests/e2e/test_layout.py: what is wrong with its layout at the
// window's width (sideways scrolling; key controls outside the window or cut off by a
// box that clips them), as a list of sentences.
() => {
  const width = window.innerWidth;
  const problems = [];
  const overflow = document.documentElement.scrollWidth - width;
  if (overflow > 0) problems.push(`scrolls sideways by ${overflow}px`);
  const controls = document.querySelectorAll(
    "main button, main .button, main .badge, main select, main input:not([type=hidden]), main textarea, main a, .site-header a, .site-header button, .site-header select"
  );
  for (const element of controls) {
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    if (!box.width || !box.height || style.visibility === "hidden") continue;
    if (element.closest("dialog:not([open]), .visually-hidden, [hidden]")) continue;
    const name = (element.textContent || element.name || element.tagName).trim().slice(0, 30);
    if (box.left < -1 || box.right > width + 1) {
      problems.push(`${element.tagName.toLowerCase()} "${name}" outside the window (${Math.round(box.left)}..${Math.round(box.right)})`);
      continue;
    }
    for (let box_ = element.parentElement; box_ && box_ !== document.body; box_ = box_.parentElement) {
      const clip = getComputedStyle(box_);
      if (clip.overflowX === "visible" && clip.overflowY === "visible") continue;
      const outer = box_.getBoundingClientRect();
      if (box.left < outer.left - 1 || box.right > outer.right + 1) {
        problems.push(`${element.tagName.toLowerCase()} "${name}" cut off by its ${box_.tagName.toLowerCase()}.${box_.className}`);
        break;
      }
    }
  }
  return problems;
}
