"""The Entry/Exit System (Regulation (EU) 2017/2226): files, records, border checks, overstays, retention."""
