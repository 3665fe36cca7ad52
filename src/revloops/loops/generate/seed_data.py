"""The word lists behind ``revloops seed``: places, names, titles, industries, how people write countries, and
the sales side (stages, seat prices, what a won deal's handoff says).

Data only. Addresses are real city/region/postal-code combinations so that geography checks
(a ZIP inside its state, a Canadian postal code inside its province) hold on the clean records.
"""

from __future__ import annotations

# Account mix by billing country (weights): US and Canada, UK, DACH, France, the Nordics, APAC.
ACCOUNT_COUNTRIES: dict[str, float] = {
    "US": 38, "CA": 8, "GB": 12, "DE": 7, "AT": 2, "CH": 3, "FR": 7,
    "SE": 3, "NO": 2, "DK": 2, "FI": 2, "AU": 6, "NZ": 1, "JP": 4, "SG": 3,
}
REGION_OF: dict[str, str] = {
    "US": "NA", "CA": "NA", "GB": "EMEA", "DE": "EMEA", "AT": "EMEA", "CH": "EMEA", "FR": "EMEA", "SE": "EMEA",
    "NO": "EMEA", "DK": "EMEA", "FI": "EMEA", "NL": "EMEA", "AU": "APAC", "NZ": "APAC", "JP": "APAC", "SG": "APAC",
}
COUNTRY_NAME: dict[str, str] = {
    "US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany", "AT": "Austria",
    "CH": "Switzerland", "FR": "France", "SE": "Sweden", "NO": "Norway", "DK": "Denmark", "FI": "Finland",
    "AU": "Australia", "NZ": "New Zealand", "JP": "Japan", "SG": "Singapore", "NL": "Netherlands",
}
# How leads write each country (the geo normaliser must map every one of these back).
COUNTRY_SPELLINGS: dict[str, tuple[str, ...]] = {
    "US": ("USA", "United States", "U.S.", "US", "U.S.A.", "United States of America", "America", "usa", "840"),
    "CA": ("Canada", "CA", "CAN", "canada"),
    "GB": ("UK", "United Kingdom", "Great Britain", "England", "GB", "U.K.", "Scotland"),
    "DE": ("Germany", "Deutschland", "DE", "DEU", "germany", "Allemagne"),
    "AT": ("Austria", "Österreich", "AT", "Oesterreich"),
    "CH": ("Switzerland", "Schweiz", "Suisse", "CH"),
    "FR": ("France", "FR", "france", "FRA"),
    "SE": ("Sweden", "Sverige", "SE"),
    "NO": ("Norway", "Norge", "NO"),
    "DK": ("Denmark", "Danmark", "DK"),
    "FI": ("Finland", "Suomi", "FI"),
    "AU": ("Australia", "AU", "AUS", "australia"),
    "NZ": ("New Zealand", "NZ", "Aotearoa"),
    "JP": ("Japan", "Nippon", "JP", "日本"),
    "SG": ("Singapore", "SG", "Republic of Singapore"),
    "NL": ("Netherlands", "Holland", "The Netherlands", "Nederland"),
    "KR": ("Korea, Republic of", "South Korea"),
    "TR": ("Türkiye", "Turkey"),
}
# Leads only: a few countries where no account sits (weights among lead countries outside accounts).
EXTRA_LEAD_COUNTRIES: dict[str, float] = {"NL": 3, "KR": 1, "TR": 1}

# (city, state as written, ISO 3166-2 region or "", postal code) per country.
CITIES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "US": (
        ("San Francisco", "CA", "US-CA", "94105"), ("Los Angeles", "CA", "US-CA", "90017"),
        ("Seattle", "WA", "US-WA", "98101"), ("Austin", "TX", "US-TX", "78701"), ("Dallas", "TX", "US-TX", "75201"),
        ("New York", "NY", "US-NY", "10001"), ("Boston", "MA", "US-MA", "02110"), ("Chicago", "IL", "US-IL", "60601"),
        ("Atlanta", "GA", "US-GA", "30303"), ("Denver", "CO", "US-CO", "80202"), ("Miami", "FL", "US-FL", "33131"),
        ("Phoenix", "AZ", "US-AZ", "85004"), ("Columbus", "OH", "US-OH", "43215"), ("Raleigh", "NC", "US-NC", "27601"),
        ("Minneapolis", "MN", "US-MN", "55402"), ("Portland", "OR", "US-OR", "97204"),
        ("Salt Lake City", "UT", "US-UT", "84111"), ("Nashville", "TN", "US-TN", "37203"),
        ("Philadelphia", "PA", "US-PA", "19103"), ("Washington", "DC", "US-DC", "20005"),
    ),
    "CA": (
        ("Toronto", "ON", "CA-ON", "M5V 2T6"), ("Ottawa", "ON", "CA-ON", "K1P 5G4"),
        ("Vancouver", "BC", "CA-BC", "V6B 1A1"), ("Montréal", "QC", "CA-QC", "H3B 2Y5"),
        ("Calgary", "AB", "CA-AB", "T2P 1J9"), ("Halifax", "NS", "CA-NS", "B3J 1S9"),
        ("Winnipeg", "MB", "CA-MB", "R3C 0V8"), ("Regina", "SK", "CA-SK", "S4P 3Y2"),
    ),
    "GB": (
        ("London", "", "", "EC1A 1BB"), ("Manchester", "", "", "M1 1AE"), ("Edinburgh", "Scotland", "GB-SCT", "EH1 1YZ"),
        ("Bristol", "", "", "BS1 4DJ"), ("Cardiff", "Wales", "GB-WLS", "CF10 1EP"), ("Leeds", "", "", "LS1 4DY"),
        ("Belfast", "Northern Ireland", "GB-NIR", "BT1 5GS"),
    ),
    "DE": (
        ("Berlin", "Berlin", "DE-BE", "10115"), ("München", "Bayern", "DE-BY", "80331"),
        ("Hamburg", "Hamburg", "DE-HH", "20095"), ("Frankfurt am Main", "Hessen", "DE-HE", "60311"),
        ("Köln", "Nordrhein-Westfalen", "DE-NW", "50667"), ("Stuttgart", "Baden-Württemberg", "DE-BW", "70173"),
        ("Leipzig", "Sachsen", "DE-SN", "04109"), ("Düsseldorf", "NRW", "DE-NW", "40213"),
    ),
    "AT": (("Wien", "Wien", "AT-9", "1010"), ("Graz", "Steiermark", "AT-6", "8010"), ("Linz", "", "", "4020")),
    "CH": (("Zürich", "ZH", "CH-ZH", "8001"), ("Genève", "GE", "CH-GE", "1201"), ("Basel", "", "", "4051"),
           ("Lausanne", "VD", "CH-VD", "1003")),
    "FR": (("Paris", "", "", "75002"), ("Lyon", "", "", "69002"), ("Marseille", "", "", "13001"),
           ("Toulouse", "", "", "31000"), ("Nantes", "", "", "44000"), ("Lille", "", "", "59000"),
           ("Bordeaux", "", "", "33000")),
    "SE": (("Stockholm", "", "", "111 52"), ("Göteborg", "", "", "411 04"), ("Malmö", "", "", "211 20")),
    "NO": (("Oslo", "", "", "0150"), ("Bergen", "", "", "5003")),
    "DK": (("København", "", "", "1050"), ("Aarhus", "", "", "8000")),
    "FI": (("Helsinki", "", "", "00100"), ("Espoo", "", "", "02150"), ("Tampere", "", "", "33100")),
    "AU": (("Sydney", "NSW", "AU-NSW", "2000"), ("Melbourne", "VIC", "AU-VIC", "3000"),
           ("Brisbane", "QLD", "AU-QLD", "4000"), ("Perth", "WA", "AU-WA", "6000"), ("Adelaide", "SA", "AU-SA", "5000")),
    "NZ": (("Auckland", "", "", "1010"), ("Wellington", "", "", "6011")),
    "JP": (("Tokyo", "Tokyo", "JP-13", "100-0005"), ("Osaka", "Osaka", "JP-27", "530-0001"),
           ("Yokohama", "Kanagawa", "JP-14", "220-0012")),
    "SG": (("Singapore", "", "", "018956"),),
    "NL": (("Amsterdam", "", "", "1012 AB"), ("Rotterdam", "", "", "3011 AD"), ("Utrecht", "", "", "3511 AA")),
    "KR": (("Seoul", "", "", "04524"),),
    "TR": (("Istanbul", "", "", "34394"),),
}
# Full names of the US/CA/AU regions above, for the leads that write them out.
REGION_NAMES: dict[str, str] = {
    "US-CA": "California", "US-WA": "Washington", "US-TX": "Texas", "US-NY": "New York", "US-MA": "Massachusetts",
    "US-IL": "Illinois", "US-GA": "Georgia", "US-CO": "Colorado", "US-FL": "Florida", "US-AZ": "Arizona",
    "US-OH": "Ohio", "US-NC": "North Carolina", "US-MN": "Minnesota", "US-OR": "Oregon", "US-UT": "Utah",
    "US-TN": "Tennessee", "US-PA": "Pennsylvania", "US-DC": "District of Columbia", "CA-ON": "Ontario",
    "CA-BC": "British Columbia", "CA-QC": "Québec", "CA-AB": "Alberta", "CA-NS": "Nova Scotia", "CA-MB": "Manitoba",
    "CA-SK": "Saskatchewan", "AU-NSW": "New South Wales", "AU-VIC": "Victoria", "AU-QLD": "Queensland",
    "AU-WA": "Western Australia", "AU-SA": "South Australia", "DE-BY": "Bavaria",
}
TIMEZONES: dict[str, str] = {
    "US": "America/New_York", "CA": "America/Toronto", "GB": "Europe/London", "DE": "Europe/Berlin",
    "AT": "Europe/Vienna", "CH": "Europe/Zurich", "FR": "Europe/Paris", "SE": "Europe/Stockholm",
    "NO": "Europe/Oslo", "DK": "Europe/Copenhagen", "FI": "Europe/Helsinki", "AU": "Australia/Sydney",
    "NZ": "Pacific/Auckland", "JP": "Asia/Tokyo", "SG": "Asia/Singapore",
}
DIAL_CODES: dict[str, str] = {
    "US": "+1", "CA": "+1", "GB": "+44", "DE": "+49", "AT": "+43", "CH": "+41", "FR": "+33", "SE": "+46",
    "NO": "+47", "DK": "+45", "FI": "+358", "AU": "+61", "NZ": "+64", "JP": "+81", "SG": "+65", "NL": "+31",
    "KR": "+82", "TR": "+90",
}
LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "US": ("Inc.", "LLC", "Corp.", "Inc"), "CA": ("Inc.", "Ltd.", "Corp."), "GB": ("Ltd", "Limited", "plc"),
    "DE": ("GmbH", "AG", "GmbH & Co. KG"), "AT": ("GmbH", "AG"), "CH": ("AG", "SA", "GmbH"), "FR": ("SAS", "SA"),
    "SE": ("AB",), "NO": ("AS", "ASA"), "DK": ("A/S", "ApS"), "FI": ("Oy", "Oyj"), "AU": ("Pty Ltd",),
    "NZ": ("Ltd", "Limited"), "JP": ("K.K.", "Co., Ltd."), "SG": ("Pte. Ltd.",), "NL": ("B.V.", "N.V."),
    "KR": ("Co., Ltd.",), "TR": ("A.Ş.",),
}
LOCAL_TLDS: dict[str, tuple[str, ...]] = {
    "US": ("com",), "CA": ("ca", "com"), "GB": ("co.uk", "com", "uk"), "DE": ("de", "com"), "AT": ("at", "com"),
    "CH": ("ch", "com"), "FR": ("fr", "com"), "SE": ("se", "com"), "NO": ("no", "com"), "DK": ("dk", "com"),
    "FI": ("fi", "com"), "AU": ("com.au", "com"), "NZ": ("co.nz", "com"), "JP": ("co.jp", "jp", "com"),
    "SG": ("com.sg", "sg", "com"), "NL": ("nl", "com"), "KR": ("co.kr", "com"), "TR": ("com.tr", "com"),
}
TECH_TLDS = ("io", "ai", "co", "tech")

# Salesforce's standard Industry picklist values we use, with revenue per employee (USD) and name words.
INDUSTRIES: dict[str, tuple[float, tuple[str, ...]]] = {
    "Technology": (250_000, ("Software", "Systems", "Labs", "Analytics", "Cloud", "Digital", "Data", "Networks")),
    "Manufacturing": (300_000, ("Industries", "Manufacturing", "Components", "Engineering", "Tools")),
    "Finance": (400_000, ("Capital", "Financial", "Partners", "Investments")),
    "Banking": (450_000, ("Bank", "Banking", "Trust")),
    "Insurance": (420_000, ("Insurance", "Assurance", "Mutual")),
    "Healthcare": (180_000, ("Health", "Medical", "Care", "Clinics")),
    "Biotechnology": (350_000, ("Therapeutics", "Biosciences", "Bio", "Genomics")),
    "Retail": (220_000, ("Retail", "Stores", "Brands", "Outfitters")),
    "Transportation": (260_000, ("Logistics", "Freight", "Transport", "Mobility")),
    "Energy": (700_000, ("Energy", "Power", "Renewables")),
    "Consulting": (200_000, ("Consulting", "Advisory", "Group")),
    "Media": (280_000, ("Media", "Studios", "Publishing")),
    "Education": (120_000, ("Learning", "Academy", "Education")),
    "Telecommunications": (500_000, ("Telecom", "Communications", "Connect")),
    "Construction": (240_000, ("Construction", "Builders", "Infrastructure")),
    "Food & Beverage": (230_000, ("Foods", "Beverages", "Kitchens")),
}
NAME_HEADS = (
    "Blue", "North", "Iron", "Silver", "Bright", "Clear", "Red", "Oak", "Stone", "Swift", "Summit", "Harbor",
    "River", "Pine", "Cedar", "Maple", "Falcon", "Aurora", "Nova", "Vertex", "Quantum", "Atlas", "Polar", "Sun",
    "Lumen", "Terra", "Astra", "Crystal", "Golden", "Granite", "Nord", "Alpen", "Fjord", "Sakura", "Coral", "Ember",
    "Orbit", "Prism", "Zephyr", "Delta",
)
NAME_TAILS = (
    "peak", "point", "field", "gate", "line", "wave", "bridge", "stone", "forge", "path", "light", "works", "ridge",
    "view", "spring", "core", "mark", "sight", "scale", "stream", "leaf", "wind", "rock", "bay", "hill", "stack",
    "craft", "vale", "crest", "haven",
)

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("James", "Mary", "Robert", "Patricia", "Michael", "Jennifer", "David", "Linda", "Daniel", "Sarah",
           "Chris", "Emily", "Matthew", "Jessica", "Andrew", "Ashley", "Ryan", "Olivia", "Noah", "Priya", "Wei",
           "Aisha", "Carlos", "Sofia", "Liam", "Chloe", "Ethan", "Grace", "Oliver", "Amelia"),
    "de": ("Lukas", "Anna", "Jonas", "Lena", "Felix", "Marie", "Maximilian", "Sophie", "Jürgen", "Katrin",
           "Stefan", "Julia", "Tobias", "Laura", "Matthias", "Björn"),
    "fr": ("Jean", "Camille", "Louis", "Chloé", "Hugo", "Léa", "Antoine", "Manon", "Théo", "Inès", "Julien", "Élodie"),
    "nordic": ("Erik", "Ingrid", "Lars", "Astrid", "Mikkel", "Freja", "Johan", "Sigrid", "Oskar", "Saga", "Aino",
               "Mikko"),
    "jp": ("Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Yuto", "Sakura", "Kenji", "Yuki"),
    "asia": ("Wei", "Mei", "Jun", "Li", "Arjun", "Siti", "Daniel", "Rachel", "Min-jun", "Seo-yeon"),
}
LAST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Taylor",
           "Anderson", "Thomas", "Moore", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Patel",
           "Nguyen", "O'Brien", "Murphy", "Campbell", "Walker"),
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
           "Köhler", "Huber", "Gruber", "Keller"),
    "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Lefèvre", "Moreau",
           "Girard", "Fontaine"),
    "nordic": ("Andersson", "Johansson", "Karlsson", "Nielsen", "Hansen", "Jensen", "Larsen", "Olsen",
               "Virtanen", "Korhonen", "Berg", "Lindqvist"),
    "jp": ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi", "Kato"),
    "asia": ("Tan", "Lim", "Ng", "Wong", "Chen", "Kumar", "Kim", "Park", "Lee", "Goh"),
}
LOCALE_OF: dict[str, str] = {
    "US": "en", "CA": "en", "GB": "en", "AU": "en", "NZ": "en", "DE": "de", "AT": "de", "CH": "de", "FR": "fr",
    "SE": "nordic", "NO": "nordic", "DK": "nordic", "FI": "nordic", "JP": "jp", "SG": "asia", "KR": "asia",
    "NL": "en", "TR": "en",
}
# Free-mail providers people in each country use (the first list is everyone's).
FREE_MAIL: dict[str, tuple[str, ...]] = {
    "*": ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "proton.me"),
    "GB": ("yahoo.co.uk", "hotmail.co.uk", "btinternet.com"), "DE": ("gmx.de", "web.de", "t-online.de"),
    "AT": ("gmx.at",), "CH": ("gmx.ch",), "FR": ("orange.fr", "free.fr", "laposte.net"), "JP": ("yahoo.co.jp",),
    "AU": ("bigpond.com",), "CA": ("rogers.com", "shaw.ca"), "US": ("aol.com", "comcast.net"),
}

# Lead titles by level (weights sum to 1): C-level, VP, Director, Manager, IC.
TITLE_LEVELS: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("C-level", 0.08, ("CEO", "CTO", "CFO", "COO", "Chief Revenue Officer", "Chief Marketing Officer", "CIO",
                       "Founder & CEO")),
    ("VP", 0.15, ("VP Sales", "VP Marketing", "VP Engineering", "VP Revenue Operations", "VP Finance",
                  "SVP Operations", "Vice President, IT")),
    ("Director", 0.22, ("Director of Sales", "Director, Marketing Operations", "IT Director",
                        "Director of Engineering", "Head of Revenue Operations", "Head of Growth")),
    ("Manager", 0.25, ("Sales Manager", "Marketing Manager", "RevOps Manager", "Engineering Manager",
                       "IT Manager", "Procurement Manager")),
    ("IC", 0.30, ("Sales Operations Analyst", "Software Engineer", "Marketing Specialist", "Account Manager",
                  "Data Analyst", "Systems Administrator", "Consultant", "Business Analyst")),
)
LEAD_SOURCES: dict[str, float] = {"Web": 30, "Paid Search": 15, "Content": 15, "Event": 15, "Partner": 10,
                                  "Outbound": 15}
ROLE_TITLES: dict[str, str] = {
    "AE": "Account Executive", "SDR": "Sales Development Representative", "SE": "Solutions Engineer",
    "CSM": "Customer Success Manager", "Manager": "Sales Manager",
}
ROLE_WEIGHTS: dict[str, float] = {"Manager": 12, "AE": 40, "SDR": 22, "SE": 13, "CSM": 13}
USER_COUNTRIES: dict[str, dict[str, float]] = {
    "NA": {"US": 5, "CA": 1}, "EMEA": {"GB": 3, "DE": 2, "FR": 1, "SE": 1, "CH": 1}, "APAC": {"AU": 2, "JP": 1, "SG": 1},
}
USER_REGIONS: dict[str, float] = {"NA": 50, "EMEA": 30, "APAC": 20}
OPEN_STAGES: tuple[tuple[str, float], ...] = (
    ("Prospecting", 10), ("Qualification", 20), ("Needs Analysis", 30), ("Value Proposition", 50),
    ("Proposal/Price Quote", 70), ("Negotiation/Review", 90),
)
QUEUES: tuple[tuple[str, str], ...] = (
    ("Inbound_Triage", "Inbound Triage"), ("Partner_Leads", "Partner Leads"), ("Disqualified", "Disqualified"),
)
# How open pipeline spreads over the stages above (more deals early than late), and how many days ahead
# a deal in each stage is expected to close (low, high).
OPEN_STAGE_WEIGHTS: dict[str, float] = {
    "Prospecting": 24, "Qualification": 22, "Needs Analysis": 18, "Value Proposition": 15,
    "Proposal/Price Quote": 12, "Negotiation/Review": 9,
}
STAGE_DAYS_AHEAD: dict[str, tuple[int, int]] = {
    "Prospecting": (60, 180), "Qualification": (45, 150), "Needs Analysis": (30, 120),
    "Value Proposition": (20, 90), "Proposal/Price Quote": (10, 60), "Negotiation/Review": (5, 40),
}
# A seat's list price per year (USD) by size class: larger customers buy at a volume discount.
SEAT_PRICE: dict[str, float] = {"smb": 1200, "mid_market": 960, "enterprise": 720}
# What a won deal's handoff says: the customer's use cases, how they measure success, the risks seen.
USE_CASES: tuple[str, ...] = (
    "Inbound lead routing", "Territory planning", "Lead scoring", "Outbound signal capture",
    "Sales sequences", "Deal playbooks", "Onboarding plans", "Renewal management", "Rep coaching",
    "Capacity planning",
)
SUCCESS_METRICS: tuple[str, ...] = (
    "Speed to lead under 5 minutes", "Meeting rate up 20% in two quarters", "No unrouted leads after 1 hour",
    "Forecast accuracy within 10%", "Ramp time down to 4 months", "Pipeline coverage of 3x",
    "Time to first value under 30 days", "Net revenue retention above 110%",
)
RISKS: tuple[str, ...] = (
    "CRM data quality is poor", "Champion is new in the role", "Competing internal build",
    "Budget approved for one year only", "Integration with the marketing stack is unclear",
    "Sales team resistant to new process", "Executive sponsor may change", "Tight go-live date",
    "No known risks",
)
