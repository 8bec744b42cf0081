"""The polish people expect: a dark theme that follows the system setting, a colour and
an icon per kind of work, optional label questions folded away in simple mode."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from backend.assignments.models import LabelVote
from backend.projects.services import project_create
from tests.e2e.conftest import ready, shot
from tests.e2e.scenario import every_kind_project
from tests.factories import SMALL_TREE, UserFactory, write_prompt
from tests.helpers import claim

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""

# WCAG relative luminance and contrast; each element with its own text is measured
# against the background actually under it (semi-transparent layers composited).
CONTRAST = """() => {
  const parse = (value) => {
    const m = value.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return [0, 0, 0, 0];
    const parts = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
  };
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  };
  const backgroundOf = (element) => {
    const layers = [];
    for (let node = element; node; node = node.parentElement) {
      const colour = parse(getComputedStyle(node).backgroundColor);
      if (colour[3] > 0) layers.push(colour);
      if (colour[3] === 1) break;
    }
    let result = [255, 255, 255, 1];
    for (const layer of layers.reverse()) result = over(layer, result);
    return result;
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const body = getComputedStyle(document.body);
  const problems = [];
  for (const element of document.querySelectorAll("body *")) {
    const own = [...element.childNodes].some(
      (n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim()
    );
    if (!own || element.closest("[hidden], .visually-hidden, :disabled, dialog:not([open])")) {
      continue;
    }
    const rect = element.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    const style = getComputedStyle(element);
    if (style.visibility !== "visible" || parseFloat(style.opacity) < 1) continue;
    const value = ratio(parse(style.color), backgroundOf(element));
    if (value < 4.5) {
      problems.push(`${element.tagName.toLowerCase()}.${element.className} ` +
        `"${element.textContent.trim().slice(0, 30)}" ${value.toFixed(2)}`);
    }
  }
  return {
    background: luminance(parse(body.backgroundColor)),
    text: luminance(parse(body.color)),
    problems,
  };
}"""


ICON_COLOURS = """() => Object.fromEntries(
  [...document.querySelectorAll(".kind-card")].map((card) => {
    const icon = card.querySelector(".kind-icon").getBoundingClientRect();
    return [
      card.value,
      [getComputedStyle(card.querySelector(".kind-icon")).backgroundColor, icon.width > 8],
    ];
  })
)"""


def _assert_one_colour_per_family(page: Any) -> None:
    icons = page.evaluate(ICON_COLOURS)
    assert all(drawn for _, drawn in icons.values())
    families = {
        "any": ["any"],
        "prompt": ["initial_prompt"],
        "user": ["prompter_reply"],
        "assistant": ["assistant_reply"],
        "review": ["label_initial_prompt", "label_prompter_reply", "label_assistant_reply"],
        "ranking": ["rank_prompter_replies", "rank_assistant_replies"],
    }
    colours = {family: {icons[kind][0] for kind in kinds} for family, kinds in families.items()}
    assert all(len(found) == 1 for found in colours.values()), colours
    assert len({next(iter(found)) for found in colours.values()}) == len(families), colours


@pytest.fixture
def dark_page(asgi_server: str, browser: Any, transactional_db: None) -> Iterator[Any]:
    context = browser.new_context(
        base_url=asgi_server,
        viewport={"width": 1200, "height": 900},
        locale="en-GB",
        color_scheme="dark",
    )
    context.set_default_timeout(10_000)
    context.add_init_script(COLLECT_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert not errors, f"script errors or CSP reports in the page: {errors}"


def _assert_dark_and_readable(page: Any, name: str) -> None:
    ready(page)
    shot(page, f"dark-{name}")
    figures = page.evaluate(CONTRAST)
    assert figures["background"] < 0.05, f"{name}: the body background is not dark"
    assert figures["text"] > 0.6, f"{name}: the body text is not light"
    assert figures["problems"] == [], f"{name}: text below 4.5:1 contrast"
    assert page.evaluate("window.__cspViolations") == []


@pytest.mark.parametrize(
    "kind", ["assistant_reply", "label_assistant_reply", "rank_assistant_replies"]
)
def test_the_dark_theme_follows_the_system_and_stays_readable(dark_page, log_in, client_for, kind):
    scenario = every_kind_project()
    volunteer = UserFactory(username="night-owl")
    log_in(dark_page, volunteer)

    dark_page.goto("/dashboard/")
    _assert_dark_and_readable(dark_page, "dashboard")
    _assert_one_colour_per_family(dark_page)

    assignment = claim(client_for(volunteer), scenario.project.slug, kind)
    assert assignment.status_code == 201, assignment.content
    dark_page.goto(f"/task/{assignment.json()['id']}/")
    _assert_dark_and_readable(dark_page, f"task-{kind}")


def test_the_light_theme_stays_as_it_was_and_readable(page, log_in):
    every_kind_project()
    log_in(page, UserFactory(username="day-owl"))
    page.goto("/dashboard/")
    ready(page)
    figures = page.evaluate(CONTRAST)
    assert figures["background"] == 1.0  # white
    assert figures["text"] < 0.05
    assert figures["problems"] == []
    _assert_one_colour_per_family(page)


def test_optional_questions_stay_folded_until_j_opens_them(page, log_in):
    project = project_create(
        slug="simple-labels",
        settings={**SMALL_TREE, "labelling_mode": "simple"},
        languages=["en"],
    )
    write_prompt(project, UserFactory(), "How do tides work? Explain it simply.")
    volunteer = UserFactory(username="quick-reviewer")
    log_in(page, volunteer)
    page.goto(f"/dashboard/?project={project.slug}")
    ready(page)
    page.locator("[data-nav-item][value='label_initial_prompt']").click()
    ready(page)
    optional = page.locator("details[data-optional-labels]")
    expect(optional).not_to_have_attribute("open", "")

    # Answering the one required question does not wander into the folded group.
    page.keyboard.press("n")
    expect(page.locator("input[name='label-spam'][value='0']")).to_be_checked()
    expect(optional).not_to_have_attribute("open", "")
    # j moves on and unfolds it; the keys answer the optional question there.
    page.keyboard.press("j")
    expect(optional).to_have_attribute("open", "")
    first_optional = optional.locator("[data-label-row]").first
    expect(first_optional).to_have_class(re.compile(r"\bis-current\b"))
    page.keyboard.press("n")
    name = first_optional.get_attribute("data-label-name")
    expect(page.locator(f"input[name='label-{name}'][value='0']")).to_be_checked()

    page.keyboard.press("Control+Enter")
    expect(page.locator(".notice")).to_have_text("Thank you! Saved.")
    votes = dict(LabelVote.objects.filter(user=volunteer).values_list("label", "value"))
    assert votes == {"spam": 0.0, name: 0.0}


def test_p_toggles_a_sanitised_preview_of_the_text_being_written(page, log_in):
    project = project_create(slug="preview", settings=dict(SMALL_TREE), languages=["en"])
    log_in(page, UserFactory(username="writer"))
    page.goto(f"/dashboard/?project={project.slug}")
    ready(page)
    page.locator("[data-nav-item][value='initial_prompt']").click()
    ready(page)
    text = "A **bold** plan, please <script>window.__injected = true</script>"
    expect(page.locator("#reply-text")).to_be_focused()
    page.keyboard.type(text)
    # p while typing is a letter of the text, not the preview.
    expect(page.locator("#reply-text")).to_have_value(text)
    preview = page.locator("[data-preview]")
    expect(preview).to_be_hidden()

    page.keyboard.press("Escape")
    page.keyboard.press("p")
    expect(preview).to_be_visible()
    expect(preview.locator("strong")).to_have_text("bold")
    expect(page.locator("[data-preview-toggle]")).to_have_attribute("aria-expanded", "true")
    assert preview.locator("script").count() == 0
    assert page.evaluate("window.__injected === undefined")
    page.keyboard.press("p")
    expect(preview).to_be_hidden()
    # The button does the same.
    page.locator("[data-preview-toggle]").click()
    expect(preview.locator("strong")).to_have_text("bold")
