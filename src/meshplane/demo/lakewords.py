"""Reference vocabulary of the demo lake: countries, names, streets, products, carriers.

Plain data, no logic. Everything is ASCII so that generated e-mail addresses and names satisfy the
patterns of the example contracts. The values are invented; any resemblance to real people is
coincidental.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    """A country the group sells to, with what the generator needs to know about it."""

    code: str
    currency: str
    phone_prefix: str  # "+" and country calling code (US numbers start with area-code digit 2)
    weight: float  # share of the customers
    shipping_base_cents: int  # carrier base price in the local currency
    number_first: bool  # "12 Main Street" (True) or "Hauptstrasse 12" (False)
    cities: tuple[str, ...]
    streets: tuple[str, ...]
    carriers: tuple[str, ...]


COUNTRIES: tuple[Country, ...] = (
    Country(
        "DE",
        "EUR",
        "+49",
        0.30,
        490,
        False,
        ("Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt", "Stuttgart", "Leipzig", "Dresden"),
        ("Hauptstrasse", "Bahnhofstrasse", "Gartenweg", "Schillerstrasse", "Lindenallee"),
        ("dhl", "dpd", "gls", "ups"),
    ),
    Country(
        "FR",
        "EUR",
        "+33",
        0.15,
        550,
        True,
        ("Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Nantes", "Bordeaux", "Lille"),
        ("Rue de la Paix", "Avenue Victor Hugo", "Rue du Moulin", "Boulevard Voltaire"),
        ("dpd", "gls", "ups", "fedex"),
    ),
    Country(
        "NL",
        "EUR",
        "+31",
        0.08,
        450,
        False,
        ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "The Hague", "Groningen"),
        ("Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsplein"),
        ("postnl", "dhl", "dpd"),
    ),
    Country(
        "GB",
        "GBP",
        "+44",
        0.14,
        399,
        True,
        ("London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol", "Edinburgh"),
        ("High Street", "Station Road", "Church Lane", "Victoria Road", "Park Avenue"),
        ("royal_mail", "dpd", "ups"),
    ),
    Country(
        "ES",
        "EUR",
        "+34",
        0.08,
        590,
        False,
        ("Madrid", "Barcelona", "Valencia", "Seville", "Bilbao", "Malaga"),
        ("Calle Mayor", "Calle de Alcala", "Avenida de la Constitucion", "Paseo del Prado"),
        ("gls", "ups", "dhl"),
    ),
    Country(
        "IT",
        "EUR",
        "+39",
        0.09,
        620,
        False,
        ("Rome", "Milan", "Naples", "Turin", "Bologna", "Florence", "Verona"),
        ("Via Roma", "Via Garibaldi", "Corso Italia", "Via Dante"),
        ("gls", "dhl", "fedex"),
    ),
    Country(
        "CH",
        "CHF",
        "+41",
        0.05,
        900,
        False,
        ("Zurich", "Geneva", "Basel", "Bern", "Lausanne", "Lucerne"),
        ("Bahnhofstrasse", "Rue du Rhone", "Seestrasse", "Marktgasse"),
        ("dhl", "dpd", "ups"),
    ),
    Country(
        "US",
        "USD",
        "+12",
        0.11,
        1290,
        True,
        ("New York", "Chicago", "Austin", "Seattle", "Boston", "Denver", "San Diego"),
        ("Main Street", "Oak Avenue", "Maple Drive", "Washington Boulevard", "Elm Street"),
        ("ups", "fedex"),
    ),
)

# Units of the order currency per EUR (list prices are in EUR).
FX_PER_EUR: dict[str, float] = {"EUR": 1.0, "GBP": 0.86, "CHF": 0.94, "USD": 1.09}

CARRIER_CODES: dict[str, str] = {
    "dhl": "JD",
    "dpd": "DP",
    "ups": "UP",
    "gls": "GL",
    "postnl": "PN",
    "royal_mail": "RM",
    "fedex": "FX",
}

FIRST_NAMES: tuple[str, ...] = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hannah",
    "Ivan",
    "Julia",
    "Karim",
    "Laura",
    "Marco",
    "Nina",
    "Oscar",
    "Paula",
    "Quentin",
    "Rosa",
    "Samuel",
    "Tara",
    "Ugo",
    "Vera",
    "William",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Amelie",
    "Bruno",
    "Chloe",
    "Daniel",
    "Emma",
    "Finn",
    "Giulia",
    "Hugo",
    "Ines",
    "Jonas",
    "Kate",
    "Leon",
    "Maria",
    "Noah",
    "Olivia",
    "Pablo",
    "Ruth",
    "Sofia",
    "Tom",
    "Lucia",
    "Victor",
    "Wendy",
    "Mia",
    "Luca",
    "Sara",
    "Jan",
    "Eva",
    "Omar",
    "Lea",
    "Max",
)

LAST_NAMES: tuple[str, ...] = (
    "Schmidt",
    "Martin",
    "Rossi",
    "Garcia",
    "Smith",
    "de Vries",
    "Muller",
    "Bernard",
    "Bianchi",
    "Lopez",
    "Jones",
    "Jansen",
    "Weber",
    "Dubois",
    "Romano",
    "Martinez",
    "Taylor",
    "Bakker",
    "Fischer",
    "Laurent",
    "Colombo",
    "Sanchez",
    "Brown",
    "Visser",
    "Wagner",
    "Moreau",
    "Ricci",
    "Perez",
    "Wilson",
    "Smit",
    "Becker",
    "Girard",
    "Marino",
    "Gomez",
    "Davies",
    "Meijer",
    "Hoffmann",
    "Fontaine",
    "Greco",
    "Diaz",
    "Evans",
    "Mulder",
    "Keller",
    "Roux",
    "Conti",
    "Ruiz",
    "Thomas",
    "Bos",
    "Koch",
    "Blanc",
)

EMAIL_DOMAINS: tuple[str, ...] = (
    "example.com",
    "example.org",
    "example.net",
    "mail.example",
    "inbox.example",
    "post.example.org",
)

SEGMENTS: tuple[str, ...] = ("standard", "premium", "business")
SEGMENT_WEIGHTS: tuple[float, ...] = (0.70, 0.20, 0.10)


@dataclass(frozen=True)
class Category:
    """An assortment category: what its products are called and what they cost and weigh."""

    name: str
    nouns: tuple[str, ...]
    brands: tuple[str, ...]
    price_cents: tuple[int, int]  # EUR list price range
    weight_grams: tuple[int, int]


CATEGORIES: tuple[Category, ...] = (
    Category(
        "apparel",
        ("Shirt", "T-Shirt", "Hoodie", "Jacket", "Dress", "Jeans", "Sweater", "Scarf"),
        ("Nordkap", "Urbanline", "Maison Leger"),
        (990, 18900),
        (120, 1500),
    ),
    Category(
        "footwear",
        ("Sneaker", "Boot", "Sandal", "Loafer", "Running Shoe", "Slipper"),
        ("Stride", "Alpenlauf", "Passo"),
        (1990, 22900),
        (300, 2200),
    ),
    Category(
        "home",
        ("Lamp", "Cushion", "Vase", "Blanket", "Mug Set", "Frying Pan", "Towel Set"),
        ("Casa Bella", "Hjem", "Linnea"),
        (490, 14900),
        (200, 6000),
    ),
    Category(
        "electronics",
        ("Headphones", "Speaker", "Charger", "Smartwatch", "Keyboard", "Camera"),
        ("Voltix", "Sonara", "Pixelon"),
        (1490, 129900),
        (50, 4000),
    ),
    Category(
        "beauty",
        ("Face Cream", "Shampoo", "Perfume", "Lip Balm", "Serum", "Body Lotion"),
        ("Belle Rive", "Pura", "Velvet Leaf"),
        (350, 12900),
        (50, 900),
    ),
    Category(
        "sports",
        ("Yoga Mat", "Dumbbell", "Bike Helmet", "Tennis Racket", "Backpack", "Bottle"),
        ("Peakform", "Sportiva", "Ironwood"),
        (790, 24900),
        (150, 20000),
    ),
    Category(
        "toys",
        ("Puzzle", "Building Set", "Plush Bear", "Board Game", "Toy Car", "Kite"),
        ("Happy Hands", "Giocatto", "Kubo"),
        (590, 8900),
        (100, 3000),
    ),
    Category(
        "grocery",
        ("Coffee Beans", "Olive Oil", "Tea Selection", "Chocolate", "Pasta", "Honey"),
        ("Buongusto", "Fairfield", "Terra Viva"),
        (190, 3900),
        (100, 2000),
    ),
)

PRODUCT_ADJECTIVES: tuple[str, ...] = (
    "Classic",
    "Essential",
    "Premium",
    "Urban",
    "Organic",
    "Compact",
    "Deluxe",
    "Everyday",
    "Vintage",
    "Smart",
    "Soft",
    "Pro",
    "Eco",
    "Travel",
    "Nordic",
    "Signature",
)

CAMPAIGN_THEMES: tuple[str, ...] = (
    "Spring Sale",
    "Summer Kick-off",
    "Back to School",
    "Black Friday",
    "Holiday Gifts",
    "New Year Deals",
    "Loyalty Rewards",
    "Win-back",
    "Product Launch",
    "Flash Sale",
    "Weekend Special",
    "Welcome Series",
)

CAMPAIGN_CHANNELS: tuple[str, ...] = ("email", "social", "search", "display", "sms")
CAMPAIGN_TARGETS: tuple[str, ...] = ("all", "standard", "premium", "business")

ORDER_STATUSES: tuple[str, ...] = ("placed", "paid", "shipped", "delivered", "cancelled", "returned")
ORDER_STATUS_WEIGHTS: tuple[float, ...] = (0.03, 0.07, 0.08, 0.72, 0.05, 0.05)
ORDER_CHANNELS: tuple[str, ...] = ("web", "app", "store")
ORDER_CHANNEL_WEIGHTS: tuple[float, ...] = (0.55, 0.30, 0.15)

RESPONSE_TYPES: tuple[str, ...] = ("opened", "clicked", "converted", "unsubscribed")
RESPONSE_TYPE_WEIGHTS: tuple[float, ...] = (0.55, 0.25, 0.12, 0.08)
DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet")
DEVICE_WEIGHTS: tuple[float, ...] = (0.62, 0.31, 0.07)
