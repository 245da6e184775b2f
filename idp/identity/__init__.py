"""People, legal entities, representation, and the claims released about them."""
