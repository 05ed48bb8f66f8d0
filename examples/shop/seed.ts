/**
 * @module examples/shop/seed
 * The shop's seed data: 24 products in 4 categories, and the stock each starts with. The
 * products service inserts the products and the inventory service the stock when they
 * start, each row only if it is not there yet: starting again changes nothing, and stock
 * already sold stays sold.
 */

/** A seeded product; `price_cents` is an integer (the API shows currency units). */
export interface SeedProduct {
  id: string;
  name: string;
  description: string;
  category: string;
  price_cents: number;
  /** The units inventory starts with. */
  stock: number;
}

/** The catalogue: ids are stable, so the same product keeps its id across restarts. */
export const seedProducts: readonly SeedProduct[] = [
  {
    id: "book-001",
    name: "The Pragmatic Programmer",
    description: "Twentieth anniversary edition",
    category: "books",
    price_cents: 4499,
    stock: 40,
  },
  {
    id: "book-002",
    name: "Designing Data-Intensive Applications",
    description: "The big ideas behind reliable, scalable systems",
    category: "books",
    price_cents: 5299,
    stock: 35,
  },
  {
    id: "book-003",
    name: "Site Reliability Engineering",
    description: "How Google runs production systems",
    category: "books",
    price_cents: 3999,
    stock: 25,
  },
  {
    id: "book-004",
    name: "Building Microservices",
    description: "Designing fine-grained systems, second edition",
    category: "books",
    price_cents: 4799,
    stock: 30,
  },
  {
    id: "book-005",
    name: "Release It!",
    description: "Design and deploy production-ready software",
    category: "books",
    price_cents: 3599,
    stock: 20,
  },
  {
    id: "book-006",
    name: "Enterprise Integration Patterns",
    description: "Messaging patterns, with sagas before they had the name",
    category: "books",
    price_cents: 6199,
    stock: 15,
  },
  {
    id: "elec-001",
    name: "Mechanical Keyboard",
    description: "Tenkeyless, hot-swappable switches",
    category: "electronics",
    price_cents: 12900,
    stock: 50,
  },
  {
    id: "elec-002",
    name: "27-inch 4K Monitor",
    description: "IPS panel, USB-C with 90 W charging",
    category: "electronics",
    price_cents: 38900,
    stock: 12,
  },
  {
    id: "elec-003",
    name: "Noise-Cancelling Headphones",
    description: "Over-ear, 30 hours of battery",
    category: "electronics",
    price_cents: 24900,
    stock: 18,
  },
  {
    id: "elec-004",
    name: "USB-C Dock",
    description: "Two displays, Ethernet, six USB ports",
    category: "electronics",
    price_cents: 17900,
    stock: 22,
  },
  {
    id: "elec-005",
    name: "Wireless Mouse",
    description: "Ergonomic, silent clicks",
    category: "electronics",
    price_cents: 4900,
    stock: 60,
  },
  {
    id: "elec-006",
    name: "Webcam 1080p",
    description: "Autofocus, two microphones",
    category: "electronics",
    price_cents: 6900,
    stock: 28,
  },
  {
    id: "kitchen-001",
    name: "Espresso Machine",
    description: "15-bar pump, steam wand",
    category: "kitchen",
    price_cents: 29900,
    stock: 10,
  },
  {
    id: "kitchen-002",
    name: "Burr Coffee Grinder",
    description: "40 grind settings",
    category: "kitchen",
    price_cents: 12900,
    stock: 16,
  },
  {
    id: "kitchen-003",
    name: "Pour-Over Kettle",
    description: "Gooseneck, temperature control",
    category: "kitchen",
    price_cents: 7900,
    stock: 24,
  },
  {
    id: "kitchen-004",
    name: "Cast Iron Skillet",
    description: "26 cm, pre-seasoned",
    category: "kitchen",
    price_cents: 3900,
    stock: 45,
  },
  {
    id: "kitchen-005",
    name: "Chef's Knife",
    description: "20 cm, stainless steel",
    category: "kitchen",
    price_cents: 8900,
    stock: 30,
  },
  {
    id: "kitchen-006",
    name: "Stand Mixer",
    description: "5 litre bowl, ten speeds",
    category: "kitchen",
    price_cents: 34900,
    stock: 8,
  },
  {
    id: "outdoor-001",
    name: "Trail Running Shoes",
    description: "Grippy outsole, light and breathable",
    category: "outdoors",
    price_cents: 13900,
    stock: 26,
  },
  {
    id: "outdoor-002",
    name: "Two-Person Tent",
    description: "Freestanding, 1.8 kg",
    category: "outdoors",
    price_cents: 27900,
    stock: 9,
  },
  {
    id: "outdoor-003",
    name: "Down Sleeping Bag",
    description: "Comfort to -5 °C",
    category: "outdoors",
    price_cents: 21900,
    stock: 11,
  },
  {
    id: "outdoor-004",
    name: "Headlamp",
    description: "400 lumens, rechargeable",
    category: "outdoors",
    price_cents: 3900,
    stock: 55,
  },
  {
    id: "outdoor-005",
    name: "Insulated Water Bottle",
    description: "750 ml, keeps cold for 24 hours",
    category: "outdoors",
    price_cents: 2900,
    stock: 70,
  },
  {
    id: "outdoor-006",
    name: "Daypack 24 L",
    description: "Rain cover included",
    category: "outdoors",
    price_cents: 8900,
    stock: 19,
  },
];

/** The stock inventory starts with, by product. */
export const seedStock: readonly { product_id: string; stock: number }[] = seedProducts.map(
  ({ id, stock }) => ({ product_id: id, stock }),
);
