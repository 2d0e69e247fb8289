"""Pure travel rules with no I/O: the 90/180 rule (stay), ICAO 9303 MRZ (mrz), retention."""
