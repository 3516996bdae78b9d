"""The names and numbers the sample data is made of: GardenWorld's catalog
(taxes, product categories, products) and what business partners are named and
given. Pure data; ``app.demodata`` generates the rows from it.
"""

from __future__ import annotations

# --- the catalog: the same at every scale -------------------------------------

# name, rate in percent
TAXES = (
    ("Standard", "8.000"),
    ("Reduced", "4.000"),
    ("Services", "6.000"),
    ("Exempt", "0.000"),
)

# value, name, what its products are
CATEGORIES = (
    ("TREE", "Trees", "Container-grown nursery stock"),
    ("SHRUB", "Shrubs", "Container-grown nursery stock"),
    ("FLOWER", "Flowers & Bulbs", "Seasonal plants and bulbs"),
    ("SEED", "Seeds", "Seed for lawns, meadows and vegetable gardens"),
    ("SOIL", "Soil & Fertilizer", "Soil, mulch and plant food"),
    ("TOOL", "Tools", "Garden tools and machines"),
    ("PATIO", "Patio Furniture", "Outdoor furniture"),
    ("WATER", "Irrigation", "Hoses, sprinklers and watering"),
    ("SERVICE", "Services", "Work done on site, by the hour"),
)

# category, name, unit, list price, tax
PRODUCTS = (
    ("TREE", "Oak Tree", "Each", "89.00", "Standard"),
    ("TREE", "Elm Tree", "Each", "79.00", "Standard"),
    ("TREE", "Red Maple Tree", "Each", "149.00", "Standard"),
    ("TREE", "River Birch", "Each", "119.00", "Standard"),
    ("TREE", "Honeycrisp Apple Tree", "Each", "69.00", "Standard"),
    ("TREE", "Bing Cherry Tree", "Each", "74.00", "Standard"),
    ("TREE", "Japanese Maple", "Each", "189.00", "Standard"),
    ("TREE", "Blue Spruce 6 ft", "Each", "159.00", "Standard"),
    ("TREE", "Southern Magnolia", "Each", "129.00", "Standard"),
    ("TREE", "Weeping Willow", "Each", "99.00", "Standard"),
    ("SHRUB", "Azalea Bush", "Each", "24.00", "Standard"),
    ("SHRUB", "Holly Bush", "Each", "29.00", "Standard"),
    ("SHRUB", "Boxwood 3 gal", "Each", "34.00", "Standard"),
    ("SHRUB", "Hydrangea", "Each", "27.00", "Standard"),
    ("SHRUB", "Lilac Bush", "Each", "32.00", "Standard"),
    ("SHRUB", "Red Rose Bush", "Each", "19.50", "Standard"),
    ("SHRUB", "Forsythia", "Each", "22.00", "Standard"),
    ("SHRUB", "Rhododendron", "Each", "39.00", "Standard"),
    ("FLOWER", "Tulip Bulbs (25)", "Each", "14.99", "Standard"),
    ("FLOWER", "Daffodil Bulbs (25)", "Each", "12.99", "Standard"),
    ("FLOWER", "Lavender Plant", "Each", "8.99", "Standard"),
    ("FLOWER", "Geranium Flat", "Each", "18.00", "Standard"),
    ("FLOWER", "Petunia Flat", "Each", "16.00", "Standard"),
    ("FLOWER", "Perennial Mix Tray", "Each", "24.00", "Standard"),
    ("SEED", "Grass Seed Container", "Each", "39.00", "Reduced"),
    ("SEED", "Lawn Seed Sun & Shade", "Kg", "12.50", "Reduced"),
    ("SEED", "Wildflower Seed Mix", "Kg", "45.00", "Reduced"),
    ("SEED", "Clover Seed", "Kg", "18.00", "Reduced"),
    ("SEED", "Heirloom Tomato Seeds", "Each", "3.49", "Reduced"),
    ("SEED", "Vegetable Seed Collection", "Each", "19.99", "Reduced"),
    ("SOIL", "Fertilizer #50", "Each", "29.00", "Standard"),
    ("SOIL", "Mulch 10#", "Each", "6.50", "Standard"),
    ("SOIL", "Potting Soil 40 L", "Each", "11.99", "Standard"),
    ("SOIL", "Garden Compost", "Kg", "0.45", "Exempt"),
    ("SOIL", "Screened Topsoil", "Kg", "0.20", "Exempt"),
    ("SOIL", "Organic Fertilizer", "Kg", "2.80", "Standard"),
    ("SOIL", "Bone Meal", "Kg", "3.90", "Standard"),
    ("TOOL", "Rake - Metal", "Each", "24.99", "Standard"),
    ("TOOL", "Rake - Bamboo", "Each", "14.99", "Standard"),
    ("TOOL", "Garden Hoe", "Each", "21.99", "Standard"),
    ("TOOL", "Border Spade", "Each", "34.99", "Standard"),
    ("TOOL", "Pruning Shears", "Each", "27.50", "Standard"),
    ("TOOL", "Wheelbarrow", "Each", "119.00", "Standard"),
    ("TOOL", "Garden Gloves", "Each", "9.99", "Standard"),
    ("TOOL", "Hedge Trimmer", "Each", "149.00", "Standard"),
    ("TOOL", "Push Lawn Mower", "Each", "249.00", "Standard"),
    ("TOOL", "Leaf Blower", "Each", "179.00", "Standard"),
    ("PATIO", "Patio Chair", "Each", "79.00", "Standard"),
    ("PATIO", "Patio Table", "Each", "199.00", "Standard"),
    ("PATIO", "Patio Sun Screen", "Each", "149.00", "Standard"),
    ("PATIO", "Garden Bench", "Each", "229.00", "Standard"),
    ("PATIO", "Hammock", "Each", "89.00", "Standard"),
    ("PATIO", "Patio Umbrella", "Each", "129.00", "Standard"),
    ("WATER", "Garden Hose 50 ft", "Each", "34.99", "Standard"),
    ("WATER", "Oscillating Sprinkler", "Each", "24.99", "Standard"),
    ("WATER", "Drip Irrigation Kit", "Each", "59.00", "Standard"),
    ("WATER", "Hose Reel", "Each", "69.00", "Standard"),
    ("WATER", "Water Timer", "Each", "39.00", "Standard"),
    ("WATER", "Rain Barrel", "Each", "99.00", "Standard"),
    ("SERVICE", "Planting Service", "Hour", "65.00", "Services"),
    ("SERVICE", "Lawn Maintenance", "Hour", "45.00", "Services"),
    ("SERVICE", "Tree Pruning", "Hour", "85.00", "Services"),
    ("SERVICE", "Garden Design Consultation", "Hour", "120.00", "Services"),
    ("SERVICE", "Irrigation Installation", "Hour", "75.00", "Services"),
)

# --- business partners --------------------------------------------------------

# GardenWorld's partners that iDempiere's public examples name, with their ids:
# id, value, name, vendor too, net days, credit limit, e-mail, city
GARDENWORLD_PARTNERS = (
    (114, "TreeFarm", "Tree Farm Inc.", True, 30, "50000", "sales@treefarm.example",
     "Portland"),
    (117, "C&W", "C&W Construction", False, 45, "25000",
     "office@cwconstruction.example", "Boston"),
    (120, "SeedFarm", "Seed Farm Inc.", True, 10, "50000", "orders@seedfarm.example",
     "Sacramento"),
)  # fmt: skip

# Generated partners are "<place> <trade><suffix>"; each ordinal gets its own
# combination (a permutation of all of them), so names stay unique for lookups.
PLACES = (
    "Green Valley", "Oak Ridge", "Sunny Meadow", "Blue River", "Maple Grove",
    "Cedar Hill", "Willow Creek", "Pine Hollow", "Golden Field", "Riverside",
    "Hillside", "Lakeview", "Stone Bridge", "Silver Birch", "Red Barn", "Rosewood",
    "Harbor View", "Prairie", "Summit", "Orchard Lane", "Juniper", "Aspen",
    "Magnolia", "Ivy Gate", "Heather Glen", "Clover Leaf", "Fox Run", "Evergreen",
    "Bayside", "Highland",
)  # fmt: skip
TRADES = (
    "Landscaping", "Nursery", "Garden Center", "Lawn Care", "Florists", "Farms",
    "Greenhouses", "Hardware", "Tree Service", "Irrigation", "Outdoor Living",
    "Builders", "Home & Garden", "Growers", "Orchards", "Garden Supply",
    "Garden Design", "Property Services", "Turf Management", "Plant Shop",
)  # fmt: skip
SUFFIXES = ("", " Inc.", " LLC", " Ltd.", " Co.", " & Sons", " Group", " Partners")
CITIES = (
    "Portland", "Seattle", "Boston", "Sacramento", "Denver", "Austin", "Chicago",
    "Atlanta", "Raleigh", "Nashville", "Minneapolis", "Phoenix", "San Diego",
    "Salt Lake City", "Kansas City", "Columbus", "Richmond", "Madison", "Boise",
    "Albany", "Hartford", "Providence", "Savannah", "Charleston", "Santa Fe",
    "Spokane", "Eugene", "Burlington", "Asheville", "Tucson",
)  # fmt: skip
NET_DAYS = (0, 10, 14, 30, 30, 30, 30, 45, 60)
CREDIT_LIMITS = ("0", "5000", "10000", "10000", "25000", "50000", "100000")
ORDER_NOTES = (
    "Spring planting",
    "Deliver to the back gate",
    "Call before delivery",
    "Rush order",
    "Repeat of the last order",
    "Landscaping project",
    "Pick up at the store",
    "Partial delivery accepted",
)

# Orders 1 to 5 (ordinals, not ids) are GardenWorld partners' open invoices, one
# in each aging bucket, so every bucket has rows at any scale: partner (index in
# GARDENWORLD_PARTNERS), days the invoice is past due at the anchor, how it is paid.
SHOWCASE = (
    (0, -12, "none"),
    (1, 10, "part"),
    (2, 45, "none"),
    (0, 75, "none"),
    (1, 120, "part"),
)
