"""Small built-in word lists for synthetic names and practices.

The lists hold common English first names and surnames (none refers to a
real person) and street words for practice names.  Names of proxies are
``first last`` pairs drawn from them; they identify no one.
"""

from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Muhammad",
    "Thomas", "Oscar", "William", "James", "Leo", "Alfie", "Henry", "Joshua",
    "Freddie", "Archie", "Ethan", "Isaac", "David", "John", "Michael", "Paul",
    "Andrew", "Peter", "Richard", "Mark", "Stephen", "Robert", "Olivia", "Amelia",
    "Isla", "Ava", "Emily", "Sophia", "Grace", "Mia", "Poppy", "Ella", "Lily",
    "Evie", "Isabella", "Sophie", "Ivy", "Freya", "Harper", "Willow", "Susan",
    "Margaret", "Sarah", "Elizabeth", "Helen", "Patricia", "Jane", "Karen",
    "Julie", "Amira", "Priya", "Fatima",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson",
    "Thomas", "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker",
    "White", "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke",
    "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward",
    "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan",
    "Allen", "James", "Scott", "Phillips", "Watson", "Davis", "Parker", "Price",
    "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter",
    "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Khan",
)  # fmt: skip

NAME_PAIRS = len(FIRST_NAMES) * len(LAST_NAMES)
"""Distinct ``first last`` names; pair ``i`` is ``FIRST_NAMES[i // len(LAST_NAMES)]``…"""


def name_pairs() -> list[str]:
    """Every ``first last`` name, in pair order."""
    return [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]


STREET_WORDS: tuple[str, ...] = (
    "Abbey", "Ash", "Beech", "Birch", "Bridge", "Brook", "Castle", "Cedar",
    "Chapel", "Church", "Elm", "Fern", "Field", "Glebe", "Grange", "Green",
    "Hawthorn", "Heath", "Highfield", "Hill", "Holly", "Kings", "Lime",
    "Manor", "Market", "Meadow", "Mill", "Oak", "Orchard", "Park", "Priory",
    "Queens", "River", "Rose", "St John's", "St Mary's", "Station", "Vale",
    "Victoria", "Willow",
)  # fmt: skip

PRACTICE_SUFFIXES: tuple[str, ...] = (
    "Surgery", "Medical Centre", "Health Centre", "Medical Practice",
    "Family Practice", "Group Practice", "Road Surgery", "Lane Surgery",
)  # fmt: skip

# Postcode areas used for practice postcodes, by NHS England region code.
POSTCODE_AREAS: dict[str, tuple[str, ...]] = {
    "Y56": ("E", "EC", "N", "NW", "SE", "SW", "W", "WC", "BR", "CR", "HA", "IG", "KT", "UB"),
    "Y58": ("BA", "BH", "BS", "DT", "EX", "GL", "PL", "SN", "SP", "TA", "TQ", "TR"),
    "Y59": ("BN", "CT", "GU", "ME", "MK", "OX", "PO", "RG", "RH", "SL", "SO", "TN"),
    "Y60": ("B", "CV", "DE", "DY", "LE", "LN", "NG", "NN", "ST", "WS", "WV", "WR"),
    "Y61": ("AL", "CB", "CM", "CO", "IP", "LU", "NR", "PE", "SG", "SS"),
    "Y62": ("BB", "BL", "CH", "CW", "FY", "L", "LA", "M", "OL", "PR", "SK", "WA", "WN"),
    "Y63": ("BD", "DH", "DL", "DN", "HD", "HG", "HU", "HX", "LS", "NE", "S", "SR", "TS", "YO"),
}

# Letters allowed in the last two characters of a postcode.
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
