"""Personal data and secrets in a text: where they are, and the text with them masked.

Each kind is found by a candidate pattern and then confirmed, so that look-alikes do
not count:

- ``email``: a conventional address shape (local part, ``@``, a domain with a dot).
- ``phone``: Google's libphonenumber (``phonenumbers``), which accepts only numbers
  valid for their country; numbers without ``+``/``00`` are read in the regions the
  text's language suggests (``LANGUAGE_REGIONS``), international ones anywhere; a
  number right after "invoice", "order", "no.", "#" … is a reference, not a phone.
- ``credit_card``: 13–19 digits (spaces or dashes between groups), an issuer prefix
  (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro) and the Luhn check.
- ``iban``: a country code, two check digits, the country's registered length and
  the ISO 7064 mod-97 check (python-stdnum's registry of all IBAN countries).
- ``ip_address``: IPv4 and IPv6 confirmed by ``ipaddress``; a dotted quad that is part
  of a longer dotted number or follows a version word ("v1.2.3.4", "version 10.0.0.1")
  is a version, not an address.
- ``secret``: the shapes of well-known credentials (OpenAI ``sk-``/``sk-proj-``,
  GitHub ``ghp_``/``gho_``/``github_pat_``, AWS ``AKIA``, Slack ``xoxb-``/``xoxp-``,
  Google ``AIza``, SendGrid ``SG.``, JWTs, PEM private keys) and long random-looking
  tokens: at least 32 characters of letters, digits and ``+/_-`` (``=`` padding
  after), mixing upper case, lower case and digits, with Shannon entropy of at least
  ``SECRET_MIN_ENTROPY`` bits a character.
  Hexadecimal strings (commit ids, checksums, UUIDs) are not secrets here: they are
  common in technical conversations and almost never credentials.
- ``address``: a house number and a street word in English, German, French, Spanish,
  Italian, Portuguese, Polish and Dutch patterns ("221B Baker Street", "Hauptstraße 5",
  "12 rue de la Paix", "Calle Mayor 3", "Via Roma 10", "Kalverstraat 92"); the span is
  the street line. Addresses take many more forms: treat this one as a hint
  (docs/quality.md lists what it misses).

Spans are sorted and never overlap: where two candidates overlap, the stronger kind
wins (``PRIORITY``), then the longer one. Work is linear in the text's length.
"""

from __future__ import annotations

import bisect
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.exceptions import ValidationError

VERSION = "pii/2"

MASKS: dict[str, str] = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "credit_card": "[CREDIT_CARD]",
    "iban": "[IBAN]",
    "ip_address": "[IP_ADDRESS]",
    "secret": "[SECRET]",
    "address": "[ADDRESS]",
}
# Which kind wins when two candidates overlap (earlier wins).
PRIORITY: tuple[str, ...] = (
    "secret",
    "email",
    "iban",
    "credit_card",
    "ip_address",
    "phone",
    "address",
)

SECRET_MIN_ENTROPY = 4.0
SECRET_MIN_LENGTH = 32
# The phone matcher is the slowest step; it looks at no more than this many characters,
# and at no more than this many stretches of digits.
MAX_PHONE_CHARS = 100_000
MAX_PHONE_CANDIDATES = 300

# The region a national-format number is read in, by the text's language.
LANGUAGE_REGIONS: dict[str, str] = {
    "en": "US", "de": "DE", "fr": "FR", "es": "ES", "it": "IT", "pt": "BR", "nl": "NL",
    "pl": "PL", "ru": "RU", "uk": "UA", "cs": "CZ", "sk": "SK", "sv": "SE", "da": "DK",
    "nb": "NO", "no": "NO", "fi": "FI", "hu": "HU", "ro": "RO", "bg": "BG", "el": "GR",
    "tr": "TR", "ar": "SA", "he": "IL", "fa": "IR", "ja": "JP", "ko": "KR", "zh": "CN",
    "th": "TH", "vi": "VN", "id": "ID", "ca": "ES", "eu": "ES", "gl": "ES", "bn": "BD",
}  # fmt: skip
# Regions also tried for a language whose speakers write several countries' numbers.
_EXTRA_REGIONS: dict[str, tuple[str, ...]] = {"en": ("GB",), "de": ("AT", "CH"), "pt": ("PT",)}


@dataclass(frozen=True)
class PiiSpan:
    type: str  # a key of MASKS
    start: int
    end: int


# A stretch that could hold a phone number: 7 to 32 characters of digits and the
# separators people write between them, starting with a digit, "+" or "(".
_PHONE_CANDIDATE = re.compile(r"[+(]?\d[\d \u00a0().\-/]{5,30}\d")
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_CARD_PREFIX = re.compile(
    r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|6(?:011|4[4-9]|5)|35(?:2[89]|[3-8])"
    r"|3(?:0[0-5]|[68])|62|5[06-9]|6[0-9]"
)
# Norway's IBANs are the shortest (15 characters), Russia's the longest (33), 34 at most.
_IBAN_MIN, _IBAN_MAX = 15, 34
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d|-\w)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?"
    r"(?![\w:]|\.\d)"
)
# Words after which a dotted quad is a version or a section number, not an address.
_VERSION_WORD = re.compile(
    r"(?:\b(?:v|version|ver\.?|release|build|section|chapter|clause|step|rule|figure|table"
    r"|item|oid)|§)\s*$",
    re.IGNORECASE,
)
_SECRET_SHAPES = re.compile(
    r"(?<![\w-])(?:"
    r"sk-(?:proj-|ant-|live_|test_)?[A-Za-z0-9_-]{20,}"
    r"|gh[pousr]_[A-Za-z0-9]{36,}"
    r"|github_pat_[A-Za-z0-9_]{22,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|xox[bpars]-[A-Za-z0-9-]{10,}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"
    r")(?![\w-])"
    r"|-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[\s\S]{0,10000}?-----END (?:[A-Z]+ )*PRIVATE KEY-----"
)
_TOKEN = re.compile(
    r"(?<![\w+/-])[A-Za-z0-9+/_-]{" + str(SECRET_MIN_LENGTH) + r",}={0,2}(?![\w+/=-])"
)
# Words after which a number is a reference (invoice, order, ticket …), not a phone.
_REFERENCE_WORD = re.compile(
    r"(?:\b(?:invoice|order|ticket|ref|reference|case|id|isbn|issn|number|sku|serial"
    r"|tracking|account|acct|rechnung|bestellung|auftrag|facture|commande|pedido|factura)"
    r"\.?\s*[:#]?|\b(?:no|nr|num|po)(?:\.|\s*[:#])|#)\s*$",
    re.IGNORECASE,
)
_HEX = re.compile(r"[0-9a-fA-F-]+")

_STREET_EN = (
    r"Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Lane|Ln\.?|Drive|Dr\.?"
    r"|Court|Ct\.?|Way|Place|Pl\.?|Terrace|Crescent|Close|Square|Highway|Parkway"
)
_ADDRESS = re.compile(
    # English: "221B Baker Street", "1600 Pennsylvania Avenue NW"
    r"\b\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][A-Za-z'.-]+\s+){1,3}(?:" + _STREET_EN + r")(?![\w])"
    r"(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
    # German: "Hauptstraße 5", "Am Lindenweg 12a", "Berliner Str. 7"
    r"|\b(?:[A-ZÄÖÜ][\wäöüß-]*\s+)?[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|allee|platz"
    r"|gasse|ring|damm|ufer)\s+\d{1,4}(?:[a-z](?!\w))?"
    # German, street word apart: "Berliner Str. 12", "Lange Straße 3"
    r"|\b[A-ZÄÖÜ][\wäöüß-]*\s+(?:Straße|Strasse|Str\.|Allee|Weg|Platz|Ring)\s+\d{1,4}"
    r"(?:[a-z](?!\w))?"
    # French: "12 rue de la Paix", "5 bis avenue Victor Hugo"
    r"|\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|allée|impasse"
    r"|quai|route)\s+(?:(?:de|du|des|la|le|l'|d')\s*)*[A-ZÉÈ][\w'-]*(?:\s+[A-ZÉÈ][\w'-]*){0,3}"
    # Street word first (es, it, pt, pl): "Calle Mayor 3", "Avenida de la Constitución, 12",
    # "C/ Alcalá 45", "Via Roma 10", "Piazza Navona 5", "Rua Augusta 100",
    # "ul. Marszałkowska 84"
    r"|(?<!\w)(?:Calle|C/|Avenida|Avda\.|Av\.|Paseo|Plaza|Camino|Carrera|Via|Viale|Piazza"
    r"|Corso|Vicolo|Rua|Travessa|Praça|Largo|ul\.|al\.|pl\.)\s+"
    r"(?:(?:de|del|della|di|da|do|dos|das|la|las|los)\s+)*"
    r"[A-ZÁÉÍÓÚÑÇŁŚŻŹ][\w'’-]*(?:\s+[A-ZÁÉÍÓÚÑÇŁŚŻŹ][\w'’-]*){0,3},?\s+(?:n\.?º\s*)?\d{1,4}"
    r"(?:[a-zA-Z](?!\w))?"
    # Dutch: "Kalverstraat 92", "Keizersgracht 123"
    r"|\b[A-Z][a-zë]*(?:straat|weg|laan|gracht|plein|kade|singel|dijk)\s+\d{1,4}(?:[a-z](?!\w))?"
)


def _emails(text: str) -> Iterator[PiiSpan]:
    for match in _EMAIL.finditer(text):
        yield PiiSpan("email", match.start(), match.end())


def _cards(text: str) -> Iterator[PiiSpan]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if _CARD_PREFIX.match(digits) and luhn.is_valid(digits):
            yield PiiSpan("credit_card", match.start(), match.end())


def _ibans(text: str) -> Iterator[PiiSpan]:
    for match in _IBAN.finditer(text):
        candidate = match.group()
        # The pattern may run on into following letters and digits: take the longest
        # prefix that is a valid IBAN (its country's registered length and format).
        ends = [index + 1 for index, char in enumerate(candidate) if char != " "]
        for length in range(min(len(ends), _IBAN_MAX), _IBAN_MIN - 1, -1):
            end = ends[length - 1]
            if _is_iban(candidate[:end]):
                yield PiiSpan("iban", match.start(), match.start() + end)
                break


def _is_iban(candidate: str) -> bool:
    try:
        # check_country=False: the registry's length and format and the mod-97 check
        # decide; a national check digit that is off still leaves a bank account.
        stdnum_iban.validate(candidate, check_country=False)
    except ValidationError:
        return False
    return True


def _ips(text: str) -> Iterator[PiiSpan]:
    for match in _IPV4.finditer(text):
        if _VERSION_WORD.search(text, max(0, match.start() - 12), match.start()):
            continue
        try:
            ipaddress.IPv4Address(match.group())
        except ValueError:
            continue
        yield PiiSpan("ip_address", match.start(), match.end())
    for match in _IPV6.finditer(text):
        candidate = match.group()
        if candidate.count(":") < 2 or not re.search(r"[0-9A-Fa-f]", candidate):
            continue
        if "::" not in candidate and candidate.count(":") != 7:
            continue
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield PiiSpan("ip_address", match.start(), match.end())


def _shannon_entropy(token: str) -> float:
    counts = Counter(token)
    length = len(token)
    return -sum(count / length * math.log2(count / length) for count in counts.values())


def _secrets(text: str) -> Iterator[PiiSpan]:
    for match in _SECRET_SHAPES.finditer(text):
        yield PiiSpan("secret", match.start(), match.end())
    for match in _TOKEN.finditer(text):
        token = match.group()
        if _HEX.fullmatch(token):
            continue
        if not (
            re.search(r"[a-z]", token) and re.search(r"[A-Z]", token) and re.search(r"\d", token)
        ):
            continue
        if _shannon_entropy(token) >= SECRET_MIN_ENTROPY:
            yield PiiSpan("secret", match.start(), match.end())


def _phones(text: str, lang: str | None) -> Iterator[PiiSpan]:
    base = (lang or "").split("-", 1)[0].lower()
    regions = [LANGUAGE_REGIONS.get(base, "US"), *_EXTRA_REGIONS.get(base, ())]
    sample = text[:MAX_PHONE_CHARS]
    # libphonenumber's matcher is slow on long prose; it only reads the stretches that
    # could hold a number (with one character of context either side, which is all its
    # checks look at), at most MAX_PHONE_CANDIDATES of them.
    for count, candidate in enumerate(_PHONE_CANDIDATE.finditer(sample)):
        if count >= MAX_PHONE_CANDIDATES:
            break
        start = max(0, candidate.start() - 1)
        window = sample[start : candidate.end() + 1]
        # An international number reads the same in every region: one try is enough.
        international = candidate.group().startswith(("+", "00"))
        for region in regions[:1] if international else regions:
            matcher = phonenumbers.PhoneNumberMatcher(
                window, region, leniency=phonenumbers.Leniency.VALID, max_tries=10
            )
            found = False
            for match in matcher:
                begin, end = start + match.start, start + match.end
                if _REFERENCE_WORD.search(sample, max(0, begin - 16), begin):
                    continue
                found = True
                yield PiiSpan("phone", begin, end)
            if found:
                break


def _addresses(text: str) -> Iterator[PiiSpan]:
    for match in _ADDRESS.finditer(text):
        yield PiiSpan("address", match.start(), match.end())


def find_pii(text: str, *, lang: str | None = None) -> list[PiiSpan]:
    """Every personal-data span in ``text``, sorted by start, none overlapping."""
    if not text:
        return []
    candidates = [
        *_secrets(text),
        *_emails(text),
        *_ibans(text),
        *_cards(text),
        *_ips(text),
        *_phones(text, lang),
        *_addresses(text),
    ]
    return _without_overlaps(candidates)


def _without_overlaps(candidates: list[PiiSpan]) -> list[PiiSpan]:
    """The strongest, then longest, candidates that overlap no stronger one, by start."""
    rank = {kind: index for index, kind in enumerate(PRIORITY)}
    candidates.sort(key=lambda span: (rank[span.type], span.start - span.end, span.start))
    starts: list[int] = []  # the kept spans, sorted by start; they never overlap
    kept: list[PiiSpan] = []
    for span in candidates:
        position = bisect.bisect_left(starts, span.start)
        if position > 0 and kept[position - 1].end > span.start:
            continue
        if position < len(kept) and kept[position].start < span.end:
            continue
        starts.insert(position, span.start)
        kept.insert(position, span)
    return kept


def mask(text: str, spans: Sequence[PiiSpan]) -> str:
    """``text`` with each span replaced by its kind's mask (``[EMAIL]`` …).

    Spans must not overlap; they may come in any order.
    """
    parts: list[str] = []
    position = 0
    for span in sorted(spans, key=lambda span: span.start):
        if span.start < position:
            raise ValueError(f"overlapping spans at {span.start}")
        parts.append(text[position : span.start])
        parts.append(MASKS[span.type])
        position = span.end
    parts.append(text[position:])
    return "".join(parts)
