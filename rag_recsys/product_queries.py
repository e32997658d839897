"""Hand-written product descriptions with the taxonomy branch a person would file them under.

Held out from building (nothing is fitted on them); ``build`` reports how many land in a path that
holds a category of the intended branch, and the tests check the same on real MiniLM. Written
before the nearest-member encoding was designed, so they are not tuned to it.
"""

from __future__ import annotations

# (product text, taxonomy path prefixes that count as the intended category)
PRODUCT_QUERIES: list[tuple[str, list[str]]] = [
    ("Trail running sneakers with breathable mesh", ["Apparel & Accessories > Shoes"]),
    ("Lightweight running shoes", ["Apparel & Accessories > Shoes"]),
    ("athletic shoes", ["Apparel & Accessories > Shoes"]),
    ("Leather ankle boots for women", ["Apparel & Accessories > Shoes"]),
    ("Hydrating face serum with hyaluronic acid", ["Health & Beauty > Personal Care > Cosmetics > Skin Care"]),
    ("Daily moisturizing cream for dry skin", ["Health & Beauty > Personal Care > Cosmetics > Skin Care"]),
    ("SPF 50 mineral sunscreen lotion", ["Health & Beauty > Personal Care > Cosmetics > Skin Care"]),
    ("Single-origin coffee beans", ["Food, Beverages & Tobacco > Beverages > Coffee"]),
    ("espresso coffee beans", ["Food, Beverages & Tobacco > Beverages > Coffee"]),
    ("Dark roast ground coffee, 12 oz bag", ["Food, Beverages & Tobacco > Beverages > Coffee"]),
    ("Organic green tea bags", ["Food, Beverages & Tobacco > Beverages > Tea & Infusions"]),
    ("Noise cancelling wireless headphones", ["Electronics > Audio > Audio Components > Headphones & Headsets"]),
    ("Bluetooth portable speaker, waterproof", ["Electronics > Audio > Audio Components > Speakers"]),
    ("4K ultra HD smart TV 55 inch", ["Electronics > Video > Televisions"]),
    ("Unlocked 5G smartphone with 128GB storage", ["Electronics > Communications > Telephony > Mobile Phones"]),
    ("Gaming laptop with RTX graphics", ["Electronics > Computers > Laptops"]),
    (
        "Mechanical keyboard with RGB backlight",
        ["Electronics > Electronics Accessories > Computer Components > Input Devices > Keyboards"],
    ),
    ("Grain-free dry dog food with salmon", ["Animals & Pet Supplies > Pet Supplies > Dog Supplies > Dog Food"]),
    ("Clumping cat litter, unscented", ["Animals & Pet Supplies > Pet Supplies > Cat Supplies > Cat Litter"]),
    (
        "Non-stick frying pan 28 cm",
        ["Home & Garden > Kitchen & Dining > Cookware & Bakeware > Cookware > Skillets & Frying Pans"],
    ),
    (
        "Automatic drip coffee maker with timer",
        ["Home & Garden > Kitchen & Dining > Kitchen Appliances > Coffee Makers & Espresso Machines"],
    ),
    ("Memory foam pillow for neck support", ["Home & Garden > Linens & Bedding > Bedding > Pillows"]),
    ("Cordless vacuum cleaner for pet hair", ["Home & Garden > Household Appliances > Vacuums"]),
    ("Scented soy candle with lavender", ["Home & Garden > Decor > Home Fragrances > Candles"]),
    ("Eau de parfum for women, floral notes", ["Health & Beauty > Personal Care > Cosmetics > Perfume & Cologne"]),
    ("Volumizing mascara, waterproof", ["Health & Beauty > Personal Care > Cosmetics > Makeup > Eye Makeup > Mascara"]),
    ("Sulfate-free shampoo for curly hair", ["Health & Beauty > Personal Care > Hair Care > Shampoo & Conditioner"]),
    ("Electric toothbrush with pressure sensor", ["Health & Beauty > Personal Care > Oral Care > Toothbrushes"]),
    (
        "Vitamin D3 supplement capsules",
        ["Health & Beauty > Health Care > Fitness & Nutrition > Vitamins & Supplements"],
    ),
    ("Non-slip yoga mat, 6 mm thick", ["Sporting Goods > Exercise & Fitness > Yoga & Pilates > Yoga & Pilates Mats"]),
    ("Adjustable dumbbells set", ["Sporting Goods > Exercise & Fitness > Weight Lifting > Free Weights"]),
    ("Carbon road bike with disc brakes", ["Sporting Goods > Outdoor Recreation > Cycling > Bicycles"]),
    ("Two-person camping tent, waterproof", ["Sporting Goods > Outdoor Recreation > Camping & Hiking > Tents"]),
    ("Men's slim fit denim jeans", ["Apparel & Accessories > Clothing > Pants"]),
    ("Waterproof hooded rain jacket", ["Apparel & Accessories > Clothing > Outerwear > Coats & Jackets"]),
    ("Stainless steel analog wrist watch", ["Apparel & Accessories > Jewelry > Watches"]),
    ("Leather crossbody handbag", ["Apparel & Accessories > Handbags, Wallets & Cases > Handbags"]),
    ("Polarized aviator sunglasses", ["Apparel & Accessories > Clothing Accessories > Sunglasses"]),
    ("Wooden building blocks for toddlers", ["Toys & Games > Toys > Building Toys"]),
    ("1000-piece jigsaw puzzle", ["Toys & Games > Puzzles > Jigsaw Puzzles"]),
    ("Cordless drill driver with two batteries", ["Hardware > Tools > Drills"]),
    (
        "Extra virgin olive oil, cold pressed",
        ["Food, Beverages & Tobacco > Food Items > Cooking & Baking Ingredients > Cooking Oils"],
    ),
    ("Dark chocolate bar 70% cocoa", ["Food, Beverages & Tobacco > Food Items > Candy & Chocolate"]),
    ("Red wine, Cabernet Sauvignon", ["Food, Beverages & Tobacco > Beverages > Alcoholic Beverages > Wine"]),
    ("Disposable baby diapers size 3", ["Baby & Toddler > Diapering > Diapers"]),
    (
        "Acoustic guitar for beginners",
        ["Arts & Entertainment > Hobbies & Creative Arts > Musical Instruments > String Instruments > Guitars"],
    ),
    ("Ergonomic mesh office chair", ["Furniture > Chairs", "Furniture > Office Furniture > Office Chairs"]),
    ("Hardcover mystery novel", ["Media > Books"]),
]
