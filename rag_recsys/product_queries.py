"""Hand-written product descriptions with the taxonomy branch a person would file them under.

Held out from building (nothing is fitted on them); ``build`` reports how many land in a path that
holds a category of the intended branch, and the tests check the same on real MiniLM. Written
before the nearest-member encoding was designed, so they are not tuned to it.
"""

# ruff: noqa: E501  (a data table: one query per line reads better than wrapped ones)
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
    # added with the multilingual encoder (issue 13): a tokenizer that reads only one of these right must say so
    ("Adjustable aluminium laptop stand", ["Electronics > Electronics Accessories > Computer Accessories > Computer Risers & Stands"]),
    ("Matte red lipstick, long lasting", ["Health & Beauty > Personal Care > Cosmetics > Makeup > Lip Makeup"]),
    ("Reflective nylon dog leash, 2 m", ["Animals & Pet Supplies > Pet Supplies > Pet Leashes"]),
    ("Infant formula powder, from birth", ["Baby & Toddler > Nursing & Feeding > Baby & Toddler Food > Baby Formula"]),
]  # fmt: skip

TRANSLATIONS: dict[str, tuple[str, str]] = {
    "Trail running sneakers with breathable mesh": ("透气网面越野跑鞋", "Zapatillas de trail running con malla transpirable"),
    "Lightweight running shoes": ("轻便跑步鞋", "Zapatillas de correr ligeras"),
    "athletic shoes": ("运动鞋", "calzado deportivo"),
    "Leather ankle boots for women": ("女士真皮短靴", "Botines de cuero para mujer"),
    "Hydrating face serum with hyaluronic acid": ("含透明质酸的保湿面部精华", "Sérum facial hidratante con ácido hialurónico"),
    "Daily moisturizing cream for dry skin": ("干性皮肤日常保湿霜", "Crema hidratante diaria para piel seca"),
    "SPF 50 mineral sunscreen lotion": ("SPF 50 物理防晒乳", "Protector solar mineral SPF 50 en loción"),
    "Single-origin coffee beans": ("单一产地咖啡豆", "Granos de café de origen único"),
    "espresso coffee beans": ("意式浓缩咖啡豆", "granos de café para espresso"),
    "Dark roast ground coffee, 12 oz bag": ("深度烘焙咖啡粉，12 盎司袋装", "Café molido de tueste oscuro, bolsa de 12 oz"),
    "Organic green tea bags": ("有机绿茶茶包", "Bolsitas de té verde orgánico"),
    "Noise cancelling wireless headphones": ("主动降噪无线耳机", "Auriculares inalámbricos con cancelación de ruido"),
    "Bluetooth portable speaker, waterproof": ("防水便携蓝牙音箱", "Altavoz portátil Bluetooth resistente al agua"),
    "4K ultra HD smart TV 55 inch": ("55 英寸 4K 超高清智能电视", "Smart TV 4K Ultra HD de 55 pulgadas"),
    "Unlocked 5G smartphone with 128GB storage": ("128GB 存储的无锁 5G 智能手机", "Smartphone 5G libre con 128 GB de almacenamiento"),
    "Gaming laptop with RTX graphics": ("搭载 RTX 显卡的游戏笔记本电脑", "Portátil gaming con gráficos RTX"),
    "Mechanical keyboard with RGB backlight": ("RGB 背光机械键盘", "Teclado mecánico con retroiluminación RGB"),
    "Grain-free dry dog food with salmon": ("三文鱼无谷物狗粮", "Pienso seco para perros sin cereales con salmón"),
    "Clumping cat litter, unscented": ("无香型结团猫砂", "Arena para gatos aglomerante, sin perfume"),
    "Non-stick frying pan 28 cm": ("28 厘米不粘煎锅", "Sartén antiadherente de 28 cm"),
    "Automatic drip coffee maker with timer": ("带定时功能的全自动滴滤咖啡机", "Cafetera de goteo automática con temporizador"),
    "Memory foam pillow for neck support": ("护颈记忆棉枕头", "Almohada de espuma viscoelástica para el cuello"),
    "Cordless vacuum cleaner for pet hair": ("适合宠物毛发的无线吸尘器", "Aspiradora inalámbrica para pelo de mascotas"),
    "Scented soy candle with lavender": ("薰衣草香氛大豆蜡烛", "Vela de soja aromática de lavanda"),
    "Eau de parfum for women, floral notes": ("女士花香调香水", "Eau de parfum para mujer, notas florales"),
    "Volumizing mascara, waterproof": ("防水浓密睫毛膏", "Máscara de pestañas voluminizadora, resistente al agua"),
    "Sulfate-free shampoo for curly hair": ("卷发专用无硫酸盐洗发水", "Champú sin sulfatos para cabello rizado"),
    "Electric toothbrush with pressure sensor": ("带压力感应的电动牙刷", "Cepillo de dientes eléctrico con sensor de presión"),
    "Vitamin D3 supplement capsules": ("维生素 D3 补充胶囊", "Cápsulas de suplemento de vitamina D3"),
    "Non-slip yoga mat, 6 mm thick": ("6 毫米加厚防滑瑜伽垫", "Esterilla de yoga antideslizante de 6 mm"),
    "Adjustable dumbbells set": ("可调节哑铃套装", "Juego de mancuernas ajustables"),
    "Carbon road bike with disc brakes": ("碟刹碳纤维公路自行车", "Bicicleta de carretera de carbono con frenos de disco"),
    "Two-person camping tent, waterproof": ("防水双人露营帐篷", "Tienda de campaña impermeable para dos personas"),
    "Men's slim fit denim jeans": ("男士修身牛仔裤", "Vaqueros de corte slim para hombre"),
    "Waterproof hooded rain jacket": ("防水连帽雨衣外套", "Chaqueta impermeable con capucha"),
    "Stainless steel analog wrist watch": ("不锈钢指针式手表", "Reloj de pulsera analógico de acero inoxidable"),
    "Leather crossbody handbag": ("真皮斜挎手提包", "Bolso bandolera de cuero"),
    "Polarized aviator sunglasses": ("偏光飞行员太阳镜", "Gafas de sol de aviador polarizadas"),
    "Wooden building blocks for toddlers": ("幼儿木制积木", "Bloques de construcción de madera para niños pequeños"),
    "1000-piece jigsaw puzzle": ("1000 片拼图", "Rompecabezas de 1000 piezas"),
    "Cordless drill driver with two batteries": ("配两块电池的无线电钻", "Taladro atornillador inalámbrico con dos baterías"),
    "Extra virgin olive oil, cold pressed": ("冷榨特级初榨橄榄油", "Aceite de oliva virgen extra, prensado en frío"),
    "Dark chocolate bar 70% cocoa": ("70% 可可黑巧克力", "Tableta de chocolate negro 70 % cacao"),
    "Red wine, Cabernet Sauvignon": ("赤霞珠红葡萄酒", "Vino tinto Cabernet Sauvignon"),
    "Disposable baby diapers size 3": ("3 号一次性婴儿纸尿裤", "Pañales desechables para bebé talla 3"),
    "Acoustic guitar for beginners": ("初学者木吉他", "Guitarra acústica para principiantes"),
    "Ergonomic mesh office chair": ("人体工学网布办公椅", "Silla de oficina ergonómica de malla"),
    "Hardcover mystery novel": ("精装悬疑小说", "Novela de misterio en tapa dura"),
    "Adjustable aluminium laptop stand": ("可调节铝合金笔记本电脑支架", "Soporte de aluminio ajustable para portátil"),
    "Matte red lipstick, long lasting": ("持久哑光红色口红", "Pintalabios rojo mate de larga duración"),
    "Reflective nylon dog leash, 2 m": ("2 米反光尼龙狗绳", "Correa de nailon reflectante para perro, 2 m"),
    "Infant formula powder, from birth": ("婴儿配方奶粉，适合新生儿", "Leche de fórmula en polvo para lactantes, desde el nacimiento"),
}  # fmt: skip
"""Each English query's Chinese (simplified) and Spanish translation, written by a person who reads both, not
by a machine, so a multilingual encoder is measured on the words a shopper would type."""

QUERY_LANGUAGES = ("en", "zh", "es")


def product_queries(language: str = "en") -> list[tuple[str, list[str]]]:
    """The queries in ``language`` (one of `QUERY_LANGUAGES`), with their intended branches, in one order.
    Raises KeyError for another language."""
    if language == "en":
        return list(PRODUCT_QUERIES)
    column = {"zh": 0, "es": 1}[language]
    return [(TRANSLATIONS[text][column], branches) for text, branches in PRODUCT_QUERIES]
