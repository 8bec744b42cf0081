"""PII spans: exact positions per kind, look-alikes left alone, masks, overlaps, limits."""

import itertools

import pytest

from backend.quality.signals.pii import MASKS, PiiSpan, find_pii, mask


def only(text: str, *, lang: str | None = None) -> list[tuple[str, str]]:
    return [(span.type, text[span.start : span.end]) for span in find_pii(text, lang=lang)]


def test_email_exact_span() -> None:
    text = "Mail jane.doe+news@mail.example.co.uk, thanks."
    assert find_pii(text) == [PiiSpan("email", 5, 37)]


@pytest.mark.parametrize(
    ("text", "lang", "number"),
    [
        ("Call (415) 555-2671 tonight", "en", "(415) 555-2671"),
        ("Ring 020 7946 0958 to book", "en", "020 7946 0958"),
        ("Ruf an: 0171 2345678.", "de", "0171 2345678"),
        ("Appelez le 06 12 34 56 78 !", "fr", "06 12 34 56 78"),
        ("Me liga no +55 11 91234-5678 amanhã", "pt-BR", "+55 11 91234-5678"),
        ("From any country: +49 30 12345678.", None, "+49 30 12345678"),
        ("Aus Deutschland: 0043 1 5311 5000", "de", "0043 1 5311 5000"),
    ],
)
def test_phone_numbers_by_region_and_international(
    text: str, lang: str | None, number: str
) -> None:
    assert only(text, lang=lang) == [("phone", number)]


def test_national_number_needs_its_region() -> None:
    # A French mobile number in national format is not a valid US number.
    assert only("Appelez le 06 12 34 56 78 !", lang="en") == []


@pytest.mark.parametrize(
    "text",
    [
        "Invoice 2023-000123 is overdue.",
        "Order no. 2125550199 shipped.",
        "Meet me on 2023-05-12 at 10:30:45.",
        "The ISBN is 978-3-16-148410-0.",
        "Dial 911 in an emergency.",
    ],
)
def test_reference_numbers_dates_and_isbns_are_not_phones(text: str) -> None:
    assert only(text, lang="en") == []


def test_cards_need_luhn_and_an_issuer_prefix() -> None:
    assert only("Card 4111 1111 1111 1111 exp 04/27") == [("credit_card", "4111 1111 1111 1111")]
    assert only("Amex 3782-822463-10005.") == [("credit_card", "3782-822463-10005")]
    assert only("Card 4111 1111 1111 1112 fails Luhn") == []
    # Luhn-valid, but 9 starts no card range (an ISBN-13-like number).
    assert only("Code 9780306406157 on the back") == []


def test_iban_checksum_and_country_length() -> None:
    assert only("IBAN DE89 3704 0044 0532 0130 00, BIC follows") == [
        ("iban", "DE89 3704 0044 0532 0130 00")
    ]
    assert only("pay NO9386011117947 now") == [("iban", "NO9386011117947")]
    assert only("wrong DE89 3704 0044 0532 0130 01 check") == []
    # Right checksum rules need the right length: a German IBAN has 22 characters.
    assert only("short DE8937040044053201300") == []


def test_ip_addresses_and_versions() -> None:
    assert only("ssh root@10.0.0.254 -p 22") == [("ip_address", "10.0.0.254")]
    assert only("Assign 2001:db8::1 and fe80::1ff:fe23:4567:890a.") == [
        ("ip_address", "2001:db8::1"),
        ("ip_address", "fe80::1ff:fe23:4567:890a"),
    ]
    assert only("Mapped ::ffff:192.0.2.128 here") == [("ip_address", "::ffff:192.0.2.128")]
    for text in (
        "Upgrade to version 10.0.0.1 today",
        "Chrome 120.0.6099.109 is out",
        "See section 4.2.1.3 below",
        "Dotted 1.2.3.4.5 is not an address",
        "Invalid 999.1.1.1 octet",
        "Release 10.0.0.1-beta",
        "MAC 00:1A:2B:3C:4D:5E and std::vector and 12:30:45",
        "Date 12.05.2023",
    ):
        assert only(text) == [], text


def test_secret_shapes() -> None:
    for secret in (
        "sk-proj-4fT9qLx2VbN8mR3kZ7wYc1HdJ6sA0eUiPoG5tQvX",
        "ghp_Z8yX7wV6uT5sR4qP3oN2mL1kJ0iH9gF8eD7c",
        "AKIAIOSFODNN7EXAMPLE",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOp",
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    ):
        assert only(f"KEY={secret} in the file") == [("secret", secret)], secret


def test_private_key_block_is_one_secret() -> None:
    key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    assert only(f"My key:\n{key}\nwhy?") == [("secret", key)]


def test_high_entropy_tokens_but_not_hex_or_words() -> None:
    assert only("session tK9vPq2LmX7rB4wNz8Yc3HdF6sJ1gAeU5iO0oR ok") == [
        ("secret", "tK9vPq2LmX7rB4wNz8Yc3HdF6sJ1gAeU5iO0oR")
    ]
    assert only("commit 3f786850e387550fdab836ed7e6dc881de23001b broke it") == []
    assert only("id 123e4567-e89b-12d3-a456-426614174000") == []
    assert only("Pneumonoultramicroscopicsilicovolcanoconiosis is long") == []
    assert only("call getUserAccountSettingsForTenantIdentifier2 now") == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Sherlock lived at 221B Baker Street, London.", "221B Baker Street"),
        ("Ich wohne in der Hauptstraße 5 in Heidelberg.", "Hauptstraße 5"),
        ("Lieferadresse: Berliner Str. 12, 10115 Berlin", "Berliner Str. 12"),
        ("J'habite 12 rue de la Paix à Paris.", "12 rue de la Paix"),
        ("Vivo en la Calle Mayor 3, en Madrid.", "Calle Mayor 3"),
        ("Abito in Via Roma 10, a Torino.", "Via Roma 10"),
    ],
)
def test_street_addresses(text: str, address: str) -> None:
    assert only(text) == [("address", address)]


def test_overlapping_candidates_keep_the_stronger_kind() -> None:
    # The digits of this IBAN would also pass as a card-like number; the IBAN wins.
    text = "Send to GB29NWBK60161331926819."
    assert find_pii(text) == [PiiSpan("iban", 8, 30)]
    # An e-mail whose host is an IP-like name stays one e-mail span.
    text = "Write to ops@10.0.0.1.example.com please"
    assert only(text) == [("email", "ops@10.0.0.1.example.com")]


def test_mask_replaces_each_span() -> None:
    text = "Mail a@b.io or call +49 30 12345678 from 192.168.0.1."
    spans = find_pii(text)
    assert [span.type for span in spans] == ["email", "phone", "ip_address"]
    assert mask(text, spans) == "Mail [EMAIL] or call [PHONE] from [IP_ADDRESS]."
    assert mask(text, list(reversed(spans))) == mask(text, spans)
    assert set(MASKS) == {
        "email", "phone", "credit_card", "iban", "ip_address", "secret", "address",
    }  # fmt: skip


def test_mask_refuses_overlapping_spans() -> None:
    with pytest.raises(ValueError, match="overlapping"):
        mask("abcdef", [PiiSpan("email", 0, 4), PiiSpan("phone", 2, 5)])


def test_empty_and_unicode_text() -> None:
    assert find_pii("") == []
    assert mask("", []) == ""
    text = "Grüße 🌍 — schreib an jürgen@example.de oder an mia@example.de ✉"
    # The address with "ü" is not an ASCII address; the span of the other is exact.
    assert only(text) == [("email", "mia@example.de")]
    assert mask(text, find_pii(text)).endswith("oder an [EMAIL] ✉")


def test_very_long_text_finds_every_span() -> None:
    unit = "Contact someone@example.com or 10.0.0.1 about card 4111 1111 1111 1111. "
    text = unit * (100_000 // len(unit))
    spans = find_pii(text)
    repeats = 100_000 // len(unit)
    assert len(spans) == 3 * repeats
    assert spans == sorted(spans, key=lambda span: span.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
