"""The reference lists clients pick codes from: process codes (``GET /processes``) and materials."""
