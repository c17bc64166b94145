"""IBANs: a country code, two check digits and the account, compact or in groups of four.

Each country's length comes from the SWIFT IBAN registry, and the whole must pass the
ISO 7064 mod-97 check, so a word that merely starts like one (``AB12...``) is left
alone. Upper case, as IBANs are printed: ``DE89 3704 0044 0532 0130 00``,
``GB29NWBK60161331926819``.
"""

from __future__ import annotations

from processing.redaction.spans import Hit

IBAN = "iban"

# Total length (country code and check digits included) per country, SWIFT IBAN registry.
LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

_ALPHANUMERIC = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


_LETTER_VALUES = str.maketrans(
    {letter: str(value) for value, letter in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10)}
)


def mod97_valid(iban: str) -> bool:
    """ISO 7064 mod 97-10: the country code and check digits moved to the end, letters as 10-35."""
    return int((iban[4:] + iban[:4]).translate(_LETTER_VALUES)) % 97 == 1


def iban_at(text: str, start: int, hits: list[Hit]) -> int:
    """An IBAN starting at ``start`` (where the scanner saw two capitals and two digits): where
    scanning may go on."""
    length = LENGTHS.get(text[start : start + 2])
    if length is None:
        return start + 4
    chars = []
    position = start
    limit = len(text)
    while position < limit and len(chars) < length:
        char = text[position]
        if char in _ALPHANUMERIC:
            chars.append(char)
        elif not (char == " " and chars and len(chars) % 4 == 0 and position + 1 < limit):
            break
        position += 1
    if len(chars) != length or (position < limit and (text[position].isalnum())):
        return start + 4
    iban = "".join(chars)
    if not mod97_valid(iban):
        return start + 4
    hits.append(Hit(start, position, IBAN, iban))
    return position
