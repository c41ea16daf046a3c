"""The sandbox's cast: one consulting firm, its customers and its people.

Both services' seed data draw from here, so the customers in Salesforce (accounts) and the
clients already in BigTime tell one story: some customers exist in both, some only in CRM.
"""

# (account name, industry, billing city, state, country, phone, already a BigTime client?)
CUSTOMERS = (
    ("Globex Corporation", "Manufacturing", "Springfield", "IL", "United States", "(217) 555-0101", True),
    ("Initech", "Technology", "Austin", "TX", "United States", "(512) 555-0134", True),
    ("Umbrella Health", "Healthcare", "Raccoon City", "MO", "United States", "(573) 555-0199", False),
    ("Stark Industries", "Energy", "Malibu", "CA", "United States", "(310) 555-0110", True),
    ("Wayne Enterprises", "Banking", "Gotham", "NJ", "United States", "(201) 555-0175", False),
    ("Cyberdyne Systems", "Technology", "Sunnyvale", "CA", "United States", "(408) 555-0142", False),
    ("Soylent Foods", "Retail", "Portland", "OR", "United States", "(503) 555-0160", True),
    ("Tyrell Corporation", "Technology", "Los Angeles", "CA", "United States", "(213) 555-0188", False),
    ("Wonka Industries", "Manufacturing", "Bristol", "", "United Kingdom", "+44 117 496 0123", False),
    ("Oceanic Airlines", "Media", "Sydney", "NSW", "Australia", "+61 2 5550 1234", False),
    ("Hooli", "Technology", "Palo Alto", "CA", "United States", "(650) 555-0117", False),
)

# The firm's people: (first name, last name, title) — Salesforce users and BigTime staff alike.
STAFF = (
    ("Avery", "Admin", "Operations Director"),
    ("Blake", "Chen", "Engagement Manager"),
    ("Carmen", "Diaz", "Senior Consultant"),
    ("Dev", "Patel", "Consultant"),
    ("Erin", "O'Brien", "Analyst"),
)
