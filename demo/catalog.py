"""The demo company's fixed world: Trailhead Outfitters, an outdoor-gear webshop with stores.

Plain constants only, so that the simulation reads as a story and stays deterministic.
"""

COMPANY = "Trailhead Outfitters"
WEB_HOST = "https://www.trailhead-outfitters.example"

FIRST_NAMES = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mason", "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Aiden", "Abigail", "Jacob",
    "Emily", "Michael", "Ella", "Daniel", "Grace", "Henry", "Chloe", "Jackson", "Camila",
    "Sebastian", "Zoe", "Owen", "Nora", "Samuel", "Lily", "Matthew", "Hannah", "Joseph", "Aria",
    "David", "Layla", "Carter", "Riley", "Wyatt", "Zoey", "John", "Penelope", "Julian", "Lucy",
    "Levi", "Anna", "Isaac", "Maya", "Gabriel", "Sara", "Anthony", "Leah", "Dylan", "Ruby",
    "Thomas", "Alice", "Charles", "Claire", "Christopher", "Eva", "Joshua", "Ines", "Andrew",
    "Priya", "Wei", "Fatima", "Mateo", "Yuki", "Omar", "Sofia", "Jose", "Chen", "Aisha",
)  # fmt: skip

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "O'Brien", "McAllister", "Van Dyke",
    "de la Cruz", "Patel", "Kim", "Schmidt", "Novak", "Rossi", "Dubois", "Kowalski", "Okafor",
)  # fmt: skip

EMAIL_DOMAINS = (
    "gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hotmail.com",
    "icloud.com", "aol.com", "proton.me", "comcast.net",
)  # fmt: skip
# Typing errors seen in real sign-up forms; each is a different address to a machine.
DOMAIN_TYPOS = {
    "gmail.com": "gmial.com",
    "yahoo.com": "yahooo.com",
    "outlook.com": "outlok.com",
    "hotmail.com": "hotmial.com",
}

# (city, state, postal code prefix, area code)
CITIES = (
    ("Denver", "CO", "802", "303"), ("Boulder", "CO", "803", "720"),
    ("Seattle", "WA", "981", "206"), ("Portland", "OR", "972", "503"),
    ("Salt Lake City", "UT", "841", "801"), ("Minneapolis", "MN", "554", "612"),
    ("Chicago", "IL", "606", "312"), ("Austin", "TX", "787", "512"),
    ("Boston", "MA", "021", "617"), ("San Francisco", "CA", "941", "415"),
    ("Asheville", "NC", "288", "828"), ("Burlington", "VT", "054", "802"),
)  # fmt: skip

# (store id, name, city)
STORES = (
    ("ST01", "Trailhead Denver Union Station", "Denver"),
    ("ST02", "Trailhead Boulder Pearl Street", "Boulder"),
    ("ST03", "Trailhead Seattle Capitol Hill", "Seattle"),
    ("ST04", "Trailhead Portland Pearl District", "Portland"),
    ("ST05", "Trailhead Salt Lake City", "Salt Lake City"),
    ("ST06", "Trailhead Minneapolis North Loop", "Minneapolis"),
    ("ST07", "Trailhead Chicago West Loop", "Chicago"),
    ("ST08", "Trailhead Boston Seaport", "Boston"),
)

# (sku, name, category, price)
PRODUCTS = (
    ("TH-1001", "Ridge 2 Ultralight Tent", "Tents", 349.00),
    ("TH-1002", "Basecamp 4 Family Tent", "Tents", 529.00),
    ("TH-1101", "Summit 20F Down Sleeping Bag", "Sleeping bags", 289.00),
    ("TH-1102", "Trail Quilt 30F", "Sleeping bags", 199.00),
    ("TH-1201", "Inflatable Sleeping Pad R4", "Sleeping pads", 139.00),
    ("TH-1301", "Trekker 55L Backpack", "Backpacks", 229.00),
    ("TH-1302", "Daypack 24L", "Backpacks", 89.00),
    ("TH-1303", "Kids Explorer Pack 12L", "Backpacks", 45.00),
    ("TH-1401", "Storm Shell Rain Jacket", "Jackets", 259.00),
    ("TH-1402", "Alpine Down Parka", "Jackets", 399.00),
    ("TH-1403", "Fleece Midlayer", "Jackets", 99.00),
    ("TH-1501", "Merino Base Layer Top", "Base layers", 79.00),
    ("TH-1502", "Merino Hiking Socks (3-pack)", "Socks", 36.00),
    ("TH-1601", "Granite Mid GTX Hiking Boot", "Footwear", 219.00),
    ("TH-1602", "Trail Runner 5", "Footwear", 149.00),
    ("TH-1603", "Camp Sandal", "Footwear", 59.00),
    ("TH-1701", "Titanium Cook Set", "Camp kitchen", 119.00),
    ("TH-1702", "Canister Stove Pro", "Camp kitchen", 74.00),
    ("TH-1703", "Insulated Bottle 1L", "Camp kitchen", 34.00),
    ("TH-1801", "Carbon Trekking Poles", "Accessories", 159.00),
    ("TH-1802", "Headlamp 400", "Accessories", 49.00),
    ("TH-1803", "Water Filter Squeeze", "Accessories", 42.00),
    ("TH-1804", "First Aid Kit Trail", "Accessories", 29.00),
    ("TH-1901", "Avalanche Beacon", "Snow safety", 339.00),
    ("TH-1902", "Touring Skins", "Snow safety", 179.00),
)

SEARCH_TERMS = (
    "tent", "ultralight tent", "sleeping bag", "rain jacket", "hiking boots", "waterproof boots",
    "backpack 50l", "kids backpack", "merino", "stove", "headlamp", "trekking poles",
    "water filter", "down jacket", "gift card", "avalanche beacon", "socks", "sale",
)  # fmt: skip

CONTENT = (
    ("guide-first-backpacking-trip", "Your first backpacking trip: a checklist"),
    ("guide-layering", "Layering for cold weather (PDF)"),
    ("guide-tent-buying", "How to choose a tent"),
    ("size-chart-footwear", "Footwear size chart"),
    ("catalog-fall", "Fall catalog (PDF)"),
    ("guide-avalanche-safety", "Avalanche safety basics"),
)

CONTENT_PAGES = (
    ("/", "Trailhead Outfitters: gear for every trail"),
    ("/stores", "Find a store"),
    ("/journal/best-day-hikes", "Journal: 12 best day hikes"),
    ("/journal/winter-camping", "Journal: winter camping"),
    ("/sale", "Sale"),
    ("/membership", "Trailhead Rewards membership"),
)

REFERRERS = (
    "https://www.google.com/", "https://www.google.com/", "https://www.bing.com/",
    "https://www.instagram.com/", "https://www.facebook.com/", "", "",
)  # fmt: skip

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Mobile Safari/537.36",
)

APP_DEVICES = (
    ("ios", "iPhone15,2", "17.5"),
    ("ios", "iPhone14,5", "17.4"),
    ("android", "Pixel 8", "14"),
    ("android", "SM-S911B", "14"),
)

# A returning visitor's landing page, three times in ten (newsletter visits come from
# clicks in the e-mails, see offline.py).
UTM_CAMPAIGNS = (
    ("google", "cpc", "brand-search"),
    ("google", "cpc", "tents-generic"),
    ("instagram", "social", "fall-collection"),
)
# How a customer first found the shop: (campaign or None for a direct visit, referrer),
# weight. Facebook's ads bring bargain hunters: they order once and are not seen again.
FACEBOOK = ("facebook", "social", "winter-deals")
ACQUISITION = (
    ((("google", "cpc", "brand-search"), "https://www.google.com/"), 24),
    ((("google", "cpc", "tents-generic"), "https://www.google.com/"), 12),
    ((FACEBOOK, "https://www.facebook.com/"), 22),
    ((("instagram", "social", "fall-collection"), "https://www.instagram.com/"), 8),
    ((None, ""), 34),
)
FACEBOOK_CHURN = 0.85  # of its customers, those who never come back after the first order
# A click in an e-mail lands with the campaign's UTM tags; this share of clickers then
# order (the seasonal sale is the campaign that sells).
CLICK_ORDERS = {"cmp-sale": 0.45, "cmp-weekly": 0.12, "cmp-rewards": 0.15}

EMAIL_CAMPAIGNS = (
    ("cmp-welcome", "Welcome to Trailhead", "Welcome! Here is 10% off your first order"),
    ("cmp-weekly", "Weekly digest", "New in: gear for the season"),
    ("cmp-cart", "Cart reminder", "You left something in your cart"),
    ("cmp-rewards", "Rewards update", "You have points waiting"),
    ("cmp-sale", "Seasonal sale", "Up to 40% off tents and sleeping bags"),
)

INTERESTS = (
    "hiking", "camping", "trail running", "climbing", "skiing", "cycling", "fishing", "travel",
)  # fmt: skip
INDUSTRIES = (
    "Education", "Healthcare", "Construction", "Software", "Outdoor recreation", "Retail",
    "Public sector", "Hospitality",
)  # fmt: skip
JOB_TITLES = (
    "Teacher", "Nurse", "Engineer", "Project manager", "Store manager", "Designer",
    "Account executive", "Park ranger", "Consultant", "Student", "Retired",
)  # fmt: skip
COMPANY_WORDS = ("Summit", "Cascade", "Pioneer", "Granite", "Blue River", "Northstar", "Aspen")
COMPANY_SUFFIXES = ("Schools", "Health", "Builders", "Labs", "Adventures", "Group", "Lodges")
